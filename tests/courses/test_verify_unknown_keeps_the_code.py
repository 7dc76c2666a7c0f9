"""A code not found on the public verification pages comes back in a box to correct: one wrong letter of the
fourteen was typed again whole on a phone, from an empty form behind 'Xác minh mã khác' (walk5's finding)."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize("path", ["/courses/verify", "/titles/verify"])
def test_a_code_not_found_comes_back_to_be_corrected(client, path):
    response = client.get(f"{path}?code=jt7g-a3gl-9nnx", follow_redirects=True)
    assert response.status_code == 404
    html = response.get_data(as_text=True)
    assert "Sửa mã rồi xác minh lại" in html
    assert f'action="{path}"' in html
    assert 'value="JT7G-A3GL-9NNX"' in html
