"""A brand's theme: one row per brand schema (made by the migrations in the brand template, as the
programme settings are), read through `themes.selectors.theme_data`, written by
`themes.services.theme_update`."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

# The site's languages whose texts a theme holds, and the texts of each (Markdown, except tagline).
TEXT_LANGUAGES = ("en", "fr")
TEXT_KEYS = ("tagline", "how_to_earn", "rules", "faq", "legal", "contact")


def theme_image_path(theme: Theme, filename: str) -> str:
    return f"theme/{filename}"


class Theme(models.Model):
    class Font(models.TextChoices):
        # Bundled under themes/static/themes/fonts/ (SIL Open Font License), or the system's own.
        INTER = "inter", "Inter"
        ATKINSON = "atkinson-hyperlegible", "Atkinson Hyperlegible"
        LORA = "lora", "Lora (serif)"
        PLEX_MONO = "ibm-plex-mono", "IBM Plex Mono"
        SYSTEM_SANS = "system-sans", _("System sans-serif")
        SYSTEM_SERIF = "system-serif", _("System serif")

    id = models.PositiveSmallIntegerField(primary_key=True, default=1, editable=False)
    logo = models.ImageField(upload_to=theme_image_path, blank=True)
    favicon = models.ImageField(upload_to=theme_image_path, blank=True)
    hero = models.ImageField(upload_to=theme_image_path, blank=True)
    primary_color = models.CharField(_("primary colour"), max_length=7, default="#1f4fa3")
    accent_color = models.CharField(_("accent colour"), max_length=7, default="#f2d479")
    background_color = models.CharField(_("background colour"), max_length=7, default="#ffffff")
    text_color = models.CharField(_("text colour"), max_length=7, default="#1d2330")
    font = models.CharField(max_length=32, choices=Font.choices, default=Font.SYSTEM_SANS)
    corner_radius = models.PositiveSmallIntegerField(_("corner radius (px)"), default=6)
    # {"en": {"tagline": "...", "how_to_earn": "Markdown", ...}, "fr": {...}}
    texts = models.JSONField(default=dict, blank=True)
    custom_css = models.TextField(_("custom CSS"), blank=True, default="")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("theme")
        verbose_name_plural = _("theme")
        constraints = [
            models.CheckConstraint(condition=models.Q(id=1), name="theme_singleton"),
            models.CheckConstraint(condition=models.Q(corner_radius__lte=32), name="theme_radius_at_most_32"),
            *(
                models.CheckConstraint(
                    condition=models.Q(**{f"{name}__regex": r"^#[0-9a-f]{6}$"}), name=f"theme_{name}_hex"
                )
                for name in ("primary_color", "accent_color", "background_color", "text_color")
            ),
        ]

    def __str__(self) -> str:
        return str(_("Theme"))
