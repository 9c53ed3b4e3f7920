from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject
from django.utils.translation import get_language
from django_tenants.utils import get_public_schema_name

from themes.pages import PAGES
from themes.selectors import theme_data


def brand(request: HttpRequest) -> dict:
    """The brand whose site is being shown (None on the platform's own domain), its theme
    (`themes.selectors.ThemeData`, read when a template first uses it), the theme's texts in the
    page's language and the pages of them the footer links to."""
    tenant = getattr(request, "tenant", None)
    if tenant is None or tenant.schema_name == get_public_schema_name():
        return {"brand": None, "theme": None}
    theme = SimpleLazyObject(theme_data)

    def texts() -> dict[str, str]:
        return theme.texts_in(get_language() or "en")

    theme_texts = SimpleLazyObject(texts)

    def pages() -> list[tuple[str, str]]:
        return [(slug, label) for slug, (key, label) in PAGES.items() if theme_texts.get(key)]

    return {
        "brand": tenant,
        "theme": theme,
        "theme_texts": theme_texts,
        "theme_pages": SimpleLazyObject(pages),
    }
