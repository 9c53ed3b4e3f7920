"""The pages of the brand's theme texts (`/page/<slug>/`), linked from the site's footer."""

from django.utils.translation import gettext_lazy as _

PAGES = {
    "how-to-earn": ("how_to_earn", _("How to earn")),
    "rules": ("rules", _("Programme rules")),
    "faq": ("faq", _("FAQ")),
    "legal": ("legal", _("Legal notice")),
    "contact": ("contact", _("Contact")),
}
