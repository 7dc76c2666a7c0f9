"""The public certificate check answers an unknown code in the caller's language, as every other refusal of the API."""

from __future__ import annotations


def test_an_unknown_code_is_said_in_vietnamese(app_ctx, client):
    answer = client.get("/api/v1/certificates/AAAA-BBBB-CCCC", headers={"Accept-Language": "vi"})
    assert answer.status_code == 404
    assert answer.get_json()["detail"] == "Không có giấy chứng nhận nào mang mã này."
    english = client.get("/api/v1/certificates/AAAA-BBBB-CCCD", headers={"Accept-Language": "en"})
    assert english.get_json()["detail"] == "No certificate has this code."
