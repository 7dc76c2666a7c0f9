from tests.conftest import csrf_token


def test_login_is_rate_limited(rate_limited_app):
    client = rate_limited_app(LOGIN_RATE_LIMIT="3 per minute").test_client()
    statuses = []
    for _ in range(5):
        token = csrf_token(client, "/login")
        response = client.post(
            "/login", data={"email": "nobody@example.vn", "password": "wrong password", "csrf_token": token}
        )
        statuses.append(response.status_code)
    assert statuses[:3] == [200, 200, 200]
    assert statuses[3:] == [429, 429]
