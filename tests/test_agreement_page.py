"""Each FTA partner's evaluation page (analysis.report.agreement_page): rendered from a planted
record of analysis.models.agreements.evaluate, escaped, every number through fmt, reasons
shown, the headline's robustness verdict both ways; its folder by make report's one rule; its
place in the page registry and on the comparison page."""

from __future__ import annotations

import json
from pathlib import Path

from analysis import partners as pt
from analysis.models import agreements as ag
from analysis.report import agreement_page as ap
from analysis.report import agreements as comparison
from analysis.report import pages
from analysis.report.pagecheck import check_html

HOSTILE = '<script>alert("x")</script> & "Co"'


def _flow(es_ci, pt_ci, *, p=0.5, p_rule=0.5, time_p=0.5, trend=None) -> dict:
    rec = {
        "event_study": {
            "att": (es_ci[0] + es_ci[1]) / 2,
            "ci": list(es_ci),
            "partner_trends": {"att": (pt_ci[0] + pt_ci[1]) / 2, "ci": list(pt_ci)},
        },
        "synthetic_control": {
            "years": [2000, 2012, 2018],
            "placebo_year": 2008,
            "gap": 0.2,
            "gap_pct": 22.14,
            "pre_rmspe": 0.021,
            "n_donors": 25,
            "p_value": p,
            "p_value_rule": p_rule,
            "time_p_value": time_p,
        },
        "trend": trend
        or {
            "window": ["2000-01", "2024-06"],
            "breaks": ["2012-03"],
            "level_pct": -12.34,
            "slope_pct_per_year": -1.5,
            "departure": -0.2,
            "departure_pct": -18.13,
            "p_level": 0.2,
            "p_slope": 0.3,
            "p_joint": 0.25,
        },
    }
    rec["readings"] = ag.readings(rec)
    rec["verdict"] = ag.verdict(rec["readings"])
    rec["verdict_label"] = ag.VERDICT_LABELS[rec["verdict"]]
    return rec


def _record(code=3010, partner="Colombia", slug="colombia", **flows) -> dict:
    return {
        "partner": partner,
        "partner_code": code,
        "slug": slug,
        "agreement": f"U.S.-{partner} Trade Promotion Agreement",
        "short_name": f"U.S.-{partner} TPA",
        "in_force": "2012-05-15",
        "revisions": [{"name": "Protocol", "in_force": "2019-01-01"}],
        "source": "https://ustr.gov/trade-agreements/free-trade-agreements",
        "flows": flows
        or {
            "exports": _flow((0.1, 0.5), (0.05, 0.4)),
            "imports": _flow((-0.6, -0.2), (-0.5, 0.1)),
        },
    }


def _doc(*records) -> dict:
    return ag.document(list(records), {"data_through": "2024-06"})


def test_hostile_names_are_escaped_and_numbers_use_the_minus_sign():
    rec = _record(partner=HOSTILE)
    rec["short_name"] = rec["agreement"] = HOSTILE
    html = ap.render(rec, _doc(rec), [{"href": "../agreements.html", "label": HOSTILE}])
    assert "<script>" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; &#34;Co&#34;" in html
    # imports: the interval -0.6..-0.2 log points in percent, with U+2212
    assert "−45.1% to −18.1%" in html
    assert check_html(html) == []  # no hyphen-minus before a digit, no path, no warning
    assert "2,012" not in html and "15 May 2012" in html  # years bare


def test_a_design_without_data_shows_its_reason():
    rec = _record()
    reason = "too little pre-period: 1 year(s) of data before 1986, the synthetic control needs 6"
    rec["flows"]["exports"]["synthetic_control"] = {"reason": reason}
    rec["flows"]["exports"]["event_study"] = {"reason": "in force before the window"}
    html = ap.render(rec, _doc(rec))
    assert f"Not estimated: {reason}" in html
    assert "Not estimated: in force before the window" in html
    rows = ap.design_rows(rec["flows"]["exports"])
    assert [r["design"] for r in rows if "reason" in r] == ["Event study", "Synthetic control"]


def test_headline_says_whether_the_event_study_survives_partner_trends():
    rec = _record()
    # exports: both intervals above zero; imports: the partner-trends interval contains zero
    survives = ap.headline(rec, "exports")
    fails = ap.headline(rec, "imports")
    assert survives.startswith("U.S. exports to Colombia — ")
    assert "The event study's departure survives its robustness checks" in survives
    assert "with partner trends the event-study interval still excludes zero" in survives
    assert "does not survive" not in survives
    assert "The event study's departure does not survive its robustness checks" in fails
    assert "with partner trends the event-study interval contains zero (−39.3% to +10.5%)" in fails
    html = ap.render(rec, _doc(rec))
    assert "survives its robustness checks" in html and "does not survive" in html


def test_headline_synthetic_control_needs_the_donor_rule_and_no_earlier_departure():
    inside = (-0.1, 0.2)  # the event study does not depart: only the synthetic control does
    ok = _record(exports=_flow(inside, inside, p=0.04, p_rule=0.05, time_p=0.5))
    assert "synthetic control's departure survives its robustness checks" in ap.headline(
        ok, "exports"
    )
    rule = _record(exports=_flow(inside, inside, p=0.04, p_rule=0.3, time_p=0.5))
    text = ap.headline(rule, "exports")
    assert "does not survive" in text and "with the donor rule" in text and "p = 0.30" in text
    early = _record(exports=_flow(inside, inside, p=0.04, p_rule=0.05, time_p=0.04))
    text = ap.headline(early, "exports")
    assert "does not survive" in text and "placebo in time (2008) finds a departure" in text
    none = _record(exports=_flow(inside, inside, p=0.5, p_rule=0.5))
    assert "No design departs from zero" in ap.headline(none, "exports")


def test_pages_are_written_into_the_partners_folder_with_relative_links(tmp_path: Path):
    reports = tmp_path / "reports"
    (reports / "korus").mkdir(parents=True)
    (reports / "korus" / "evaluation.html").write_text("<html></html>")
    (reports / "korea-south").mkdir()
    (reports / "korea-south" / "trends.html").write_text("<html></html>")
    korea = _record(code=5800, partner="Korea, South", slug="korea-south")
    korea["short_name"] = "KORUS"
    colombia = _record()
    nowhere = _record(code=1234, partner="Gone", slug=None)  # a code without data: no folder
    doc = _doc(korea, colombia, nowhere)
    written = ap.write_pages(doc, reports)
    assert written == [
        reports / "korea-south" / "evaluation.html",
        reports / "colombia" / "evaluation.html",
    ]
    html = written[0].read_text(encoding="utf-8")
    for href in ("../agreements.html", "../index.html", "trends.html", "../korus/evaluation.html"):
        assert f'href="{href}"' in html
    assert 'href="evaluation.json"' in html  # the registry's data link
    other = written[1].read_text(encoding="utf-8")
    assert "korus/evaluation.html" not in other and 'href="trends.html"' not in other
    data = json.loads((reports / "colombia" / "evaluation.json").read_text(encoding="utf-8"))
    assert data["schema_version"] == ag.SCHEMA_VERSION
    assert data["agreement"]["partner_code"] == 3010
    assert data["verdict_rules"] == list(ag.VERDICT_RULES)
    assert "does not survive" in data["headline"]["imports"]
    assert [c["passed"] for c in data["robustness"]["imports"]] == [False]
    # Korea's full evaluation keeps its address and content
    assert (reports / "korus" / "evaluation.html").read_text() == "<html></html>"
    # the comparison page links each partner's evaluation page
    lines = comparison.links_lines(doc["agreements"], reports)
    assert "[evaluation](colombia/evaluation.html)" in lines[1]
    assert "[full KORUS evaluation](korus/evaluation.html)" in lines[0]


def test_registry_knows_the_per_partner_page(tmp_path: Path):
    entry = pages.page_at("colombia/evaluation.html")
    assert entry is not None and entry.key == ap.PAGE_KEY and entry.template
    assert pages.page_at("korus/evaluation.html").key == "evaluation"  # KORUS's, unchanged
    (tmp_path / "colombia").mkdir()
    (tmp_path / "colombia" / "evaluation.html").write_text("<html></html>")
    partners = [
        {"slug": "korea-south", "partner": "Korea, South"},
        {"slug": "colombia", "partner": "Colombia"},
        {"slug": "japan", "partner": "Japan"},
    ]
    links = pages.section_links(tmp_path, partners, "korea-south")
    titles = [x["title"] for x in links]
    assert "Colombia: agreement evaluation" in titles  # built: listed
    assert "Japan: agreement evaluation" not in titles  # no agreement, no page: not listed
    assert entry.title not in titles  # nor for the default partner until it is built


def test_the_folder_is_make_reports_rule(tmp_path: Path):
    """Census has two codes named Israel: the one with older data gets israel-5080; a name the
    site uses (korus) gets its code; a partner whose report already has a folder keeps it."""
    rows = [
        dict(
            partner_code=c,
            partner=n,
            slug=s,
            is_aggregate="False",
            first_month="1990-01",
            last_month="2024-06",
            months=1,
            months_with_trade=1,
        )
        for c, n, s in (
            (5080, "Israel", "israel-5080"),
            (5081, "Israel", "israel"),
            (9999, "Korus", "korus-9999"),
        )
    ]
    known = pt.partners_from_rows(rows)
    reports = tmp_path / "reports"
    reports.mkdir()
    assert pt.report_folder(5080, known, reports) == "israel-5080"
    assert pt.report_folder(9999, known, reports) == "korus-9999"
    (reports / "israel-old").mkdir()
    (reports / "israel-old" / "params.json").write_text('{"partner": 5081}')
    assert pt.report_folder(5081, known, reports) == "israel-old"
    assert ag.partner_folder(5081, known, reports) == "israel-old"
    assert ag.partner_folder(1234, known, reports) is None  # no such code: no page, no error
