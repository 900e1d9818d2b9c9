"""What the API tests of samples send: bearer tokens, samples and results as phones post
them, and the checks of an error's shape."""

from datetime import timedelta

from sqlalchemy import func, select

from backend.accounts.tokens import issue_token
from backend.batches.models import BatchStateChange
from backend.core.time import utcnow
from backend.samples.models import Sample, TestResult

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


def bearer(user) -> dict:
    return {"Authorization": f"Bearer {issue_token(user)}"}


def ago(**kwargs) -> str:
    return (utcnow() - timedelta(**kwargs)).isoformat()


def post_sample(client, site, role="inspector", **body):
    body = {
        "kind": "rapid",
        "batch_no": site.batch.batch_no,
        "task_source": "routine",
        "testing_agency": "快检车",
        "station": "快检车 KJC-03",
        "sampled_at": ago(hours=2),
        **body,
    }
    return client.post("/api/v1/samples", json=body, headers=site.headers[role])


def post_results(client, site, sample_no, results, role="inspector", **extra):
    return client.post(
        f"/api/v1/samples/{sample_no}/results",
        json={"results": results, **extra},
        headers=site.headers[role],
    )


def positive(item="benzoic_acid"):
    return {"item_code": item, "method": "胶体金法", "qualitative": "positive"}


def assert_error_shape(response, status):
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.get_json()
    assert set(body) == {"code", "status", "error", "message", "errors"}
    assert body["code"] == status and body["message"]
    return body


def counts(db):
    return (
        db.session.scalar(select(func.count(Sample.id))),
        db.session.scalar(select(func.count(TestResult.id))),
        db.session.scalar(select(func.count(BatchStateChange.id))),
    )
