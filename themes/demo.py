"""The demo brands' themes (colours, font, texts in English and French), so that their sites differ;
seeded with their programmes by `loyalty.demo`."""

from __future__ import annotations

from themes.services import theme_update

THEMES: dict[str, dict] = {
    "citycar": {
        "primary_color": "#0b6e4f",
        "accent_color": "#ffd166",
        "background_color": "#ffffff",
        "text_color": "#1b1f23",
        "font": "inter",
        "corner_radius": 14,
        "texts": {
            "en": {
                "tagline": "Every trip earns miles. Evening rides into Paris earn double.",
                "how_to_earn": "- **200 miles** for a trip from zones 3-4 into Paris, 18:00 to 22:00\n"
                "- Miles for every damage report we approve\n"
                "- Spend them on free minutes and credits",
                "rules": "Miles expire at the end of each calendar year.",
                "faq": "**When do miles show?** As soon as your trip ends.",
                "legal": "CityCar SAS, 12 rue des Mobilités, 75011 Paris.",
                "contact": "Write to [club@citycar.example](mailto:club@citycar.example).",
            },
            "fr": {
                "tagline": "Chaque trajet rapporte des miles. Le soir vers Paris, c'est le double.",
                "how_to_earn": "- **200 miles** pour un trajet des zones 3-4 vers Paris, de 18 h à 22 h\n"
                "- Des miles pour chaque signalement de dégât validé\n"
                "- À dépenser en minutes et crédits offerts",
                "rules": "Les miles expirent à la fin de chaque année civile.",
                "faq": "**Quand mes miles apparaissent-ils ?** Dès la fin du trajet.",
                "legal": "CityCar SAS, 12 rue des Mobilités, 75011 Paris.",
                "contact": "Écrivez à [club@citycar.example](mailto:club@citycar.example).",
            },
        },
    },
    "tabac-pro": {
        "primary_color": "#8a1c1c",
        "accent_color": "#f4e3c1",
        "background_color": "#fffdf8",
        "text_color": "#2b2118",
        "font": "atkinson-hyperlegible",
        "corner_radius": 4,
        "texts": {
            "en": {
                "tagline": "The rewards programme of partner tobacconists.",
                "how_to_earn": "1 point per euro bought from us, **doubled** on featured products. "
                "Reach Gold at 5,000 points and earn 1.5 times as many.",
                "rules": "Points are valid 365 days. The programme is open to partner shops only.",
                "legal": "Tabac Pro Distribution SA, RCS Lyon 404 833 048.",
                "contact": "Your sales rep, or [pro@tabac-pro.example](mailto:pro@tabac-pro.example).",
            },
            "fr": {
                "tagline": "Le programme de fidélité des buralistes partenaires.",
                "how_to_earn": "1 point par euro acheté, **doublé** sur les produits mis en avant. "
                "Passez Gold à 5 000 points et gagnez 1,5 fois plus.",
                "rules": "Les points sont valables 365 jours. Réservé aux points de vente partenaires.",
                "legal": "Tabac Pro Distribution SA, RCS Lyon 404 833 048.",
                "contact": "Votre commercial, ou [pro@tabac-pro.example](mailto:pro@tabac-pro.example).",
            },
        },
    },
    "grand-cru": {
        "primary_color": "#5b1a3a",
        "accent_color": "#e8d9b5",
        "background_color": "#faf7f2",
        "text_color": "#2a1e24",
        "font": "lora",
        "corner_radius": 2,
        "texts": {
            "en": {
                "tagline": "A cellar of rewards for those who love wine.",
                "how_to_earn": "1 point per euro spent, **twice as many** for VIP members "
                "(1,000 EUR over 9 months).",
                "faq": "**How do I become VIP?** Spend 1,000 EUR over nine months.",
                "legal": "Grand Cru Cellars SARL, 33000 Bordeaux. Drink responsibly.",
                "contact": "[cellar@grand-cru.example](mailto:cellar@grand-cru.example)",
            },
            "fr": {
                "tagline": "Une cave de récompenses pour les amoureux du vin.",
                "how_to_earn": "1 point par euro dépensé, **deux fois plus** pour les membres VIP "
                "(1 000 EUR sur 9 mois).",
                "faq": "**Comment devenir VIP ?** Dépensez 1 000 EUR sur neuf mois.",
                "legal": "Grand Cru Cellars SARL, 33000 Bordeaux. "
                "L'abus d'alcool est dangereux pour la santé.",
                "contact": "[cellar@grand-cru.example](mailto:cellar@grand-cru.example)",
            },
        },
    },
}


def demo_theme_seed(*, slug: str) -> None:
    """Dress a demo brand (the current schema) in its theme, if it has one."""
    if slug in THEMES:
        theme_update(data=THEMES[slug])
