"""docs/model.md, written from a model's metadata.json (python -m services.recommender.report)."""

from services.recommender.model import load
from services.recommender.report import render


def test_the_model_report_says_what_was_chosen_and_against_what(demo_model):
    metadata = load(demo_model).metadata
    page = render(metadata, None)
    ranking = metadata["ranking"]
    weights = ranking["weights"]
    assert f"prediction {weights['prediction']}, affinity {weights['affinity']}" in page
    assert f"weight {ranking['similar_factor_weight']}:" in page
    assert page.count("**(chosen)**") == 1
    served = metadata["lists"]["similar"]["served"]
    assert f"| served: content model | {served['franchise_recall_at_10']:.3f} |" in page
    assert "| rating factors' neighbours (served before) |" in page
    assert "| rating model alone (served before) |" in page
    assert f"{metadata['content']['dimensions']:,} features" in page
    assert "Screening of the 0 ratings posted through the API: 0 set aside" in page


def test_a_model_without_validation_or_screening_still_reports(demo_model):
    metadata = dict(load(demo_model).metadata)
    metadata["screening"] = None
    metadata["ranking"] = {**metadata["ranking"], "validation": None}
    metadata.pop("lists")
    page = render(metadata, None)
    assert "API ratings were not screened" in page
    assert "No validation ran" in page
