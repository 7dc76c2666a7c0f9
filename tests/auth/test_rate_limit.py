from lms import create_app
from tests.conftest import activate_celery, csrf_token


def test_login_is_rate_limited(app, database_url):
    limited = create_app({"ENV_NAME": "testing", "SQLALCHEMY_DATABASE_URI": database_url,
                          "RATELIMIT_ENABLED": True, "LOGIN_RATE_LIMIT": "3 per minute"})
    client = limited.test_client()
    statuses = []
    for _ in range(5):
        token = csrf_token(client, "/login")
        response = client.post("/login", data={"email": "nobody@example.vn", "password": "wrong password",
                                               "csrf_token": token})
        statuses.append(response.status_code)
    assert statuses[:3] == [200, 200, 200]
    assert statuses[3:] == [429, 429]
    activate_celery(app)
