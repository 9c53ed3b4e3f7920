"""Brands' templates in the sandbox: unknown variables and forbidden attributes refused at save."""

from __future__ import annotations

import pytest

from messaging.rendering import TemplateRefused, template_errors, template_render, template_variables


def test_known_variables_render_and_unknown_ones_are_refused_by_name():
    assert (
        template_render("Hi {{ first_name }}: {{ balance }}", {"first_name": "Léa", "balance": "1 250"})
        == "Hi Léa: 1 250"
    )
    assert template_errors("Hi {{ first_name }} {{ password }}") == ["Unknown variable “password”."]
    assert template_variables("{{ tier }} {% if balance %}{{ balance }}{% endif %}") == {"tier", "balance"}


def test_loops_and_sets_may_name_their_own_variables():
    assert template_errors("{% set n = first_name %}{{ n }}{% for c in name %}{{ c }}{% endfor %}") == []


@pytest.mark.parametrize(
    "source",
    [
        "{{ first_name.__class__ }}",
        "{{ first_name.__class__.__mro__[1].__subclasses__() }}",
        "{% include 'x.html' %}",
        "{% import 'x' as y %}",
        "{{ first_name",
    ],
)
def test_what_a_template_must_not_do_is_refused_when_saved(source):
    assert template_errors(source)
    with pytest.raises(TemplateRefused):
        template_render(source, {"first_name": "x"})


def test_the_sandbox_stops_what_the_check_lets_through():
    # A string method that could make a huge string, and a repetition over the cap: both pass the
    # check (they look like any call or product) and the sandbox refuses them when rendering.
    for source in ("{{ first_name.center(1000000000) }}", "{{ first_name * 100000000 }}"):
        assert template_errors(source) == []
        with pytest.raises(TemplateRefused, match=r"sandbox"):
            template_render(source, {"first_name": "x"})
    assert template_render("{{ '-' * 40 }} {{ first_name.upper() }}", {"first_name": "x"}) == "-" * 40 + " X"


@pytest.mark.parametrize(
    ("source", "why"),
    [
        ("{{ 'x' * 10**9 }}", "powers"),
        ("{{ first_name|center(1000000000) }}", "center"),
        ("{{ first_name|attr('__class__') }}", "attr"),
        ("{% for i in range(100000) %}{{ i }}{% endfor %}", "range"),
    ],
)
def test_what_could_exhaust_a_worker_is_refused_when_saved(source, why):
    assert why in " ".join(template_errors(source))


def test_a_rendered_text_over_the_cap_is_refused():
    with pytest.raises(TemplateRefused, match="too long"):
        template_render("{{ name }}{{ name }}", {"name": "x" * 60_000})


def test_html_escapes_the_values_and_text_keeps_them():
    assert template_render("{{ name }}", {"name": "<b>A&B</b>"}, html=True) == "&lt;b&gt;A&amp;B&lt;/b&gt;"
    assert template_render("{{ name }}", {"name": "<b>A&B</b>"}) == "<b>A&B</b>"


def test_a_template_too_long_is_refused():
    assert "too long" in template_errors("x" * 20_001)[0]
