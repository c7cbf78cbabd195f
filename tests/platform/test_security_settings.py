"""Running behind TLS: secure cookies, HSTS, the proxy's scheme header and the console's CSP."""

import json
import os
import re
import subprocess
import sys

from django.urls import reverse

from tests import factories
from tests.conftest import PASSWORD, REPO

PROBE = (
    "import json, django; from django.conf import settings as s; django.setup(); "
    "print(json.dumps({'session': s.SESSION_COOKIE_SECURE, 'csrf': s.CSRF_COOKIE_SECURE, "
    "'hsts': s.SECURE_HSTS_SECONDS, 'subdomains': s.SECURE_HSTS_INCLUDE_SUBDOMAINS, "
    "'proxy': s.SECURE_PROXY_SSL_HEADER, 'limit': s.AXES_FAILURE_LIMIT, "
    "'address_limit': s.LOGIN_ADDRESS_FAILURE_LIMIT, "
    "'cooloff': s.AXES_COOLOFF_TIME.total_seconds(), 'proxies': s.TRUSTED_PROXY_COUNT}))"
)
VARIABLES = (
    "SECURE_COOKIES",
    "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "SECURE_PROXY_SSL_HEADER",
    "LOGIN_FAILURE_LIMIT",
    "LOGIN_ADDRESS_FAILURE_LIMIT",
    "LOGIN_COOLOFF_MINUTES",
    "TRUSTED_PROXY_COUNT",
)


def _settings_with(tmp_path, **env_overrides) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in VARIABLES}
    env.update(env_overrides, DATA_ROOT=str(tmp_path), DJANGO_SETTINGS_MODULE="webapp.settings")
    out = subprocess.run(
        [sys.executable, "-c", PROBE], env=env, cwd=REPO, check=True, capture_output=True, text=True
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def _policy(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    return {
        name: values
        for name, *values in (part.split() for part in header.split(";") if part.strip())
    }


def test_the_defaults_keep_the_embedded_plain_http_setup_working(tmp_path):
    probe = _settings_with(tmp_path)
    assert probe["session"] is False and probe["csrf"] is False
    assert probe["hsts"] == 0 and probe["subdomains"] is False
    assert probe["proxy"] is None
    assert (probe["limit"], probe["address_limit"], probe["cooloff"]) == (5, 20, 15 * 60)
    assert probe["proxies"] == 0


def test_the_environment_turns_the_tls_settings_on(tmp_path):
    probe = _settings_with(
        tmp_path,
        SECURE_COOKIES="1",
        SECURE_HSTS_SECONDS="31536000",
        SECURE_HSTS_INCLUDE_SUBDOMAINS="true",
        SECURE_PROXY_SSL_HEADER="HTTP_X_FORWARDED_PROTO,https",
        LOGIN_FAILURE_LIMIT="3",
        LOGIN_ADDRESS_FAILURE_LIMIT="50",
        LOGIN_COOLOFF_MINUTES="2.5",
        TRUSTED_PROXY_COUNT="1",
    )
    assert probe["session"] is True and probe["csrf"] is True
    assert probe["hsts"] == 31536000 and probe["subdomains"] is True
    assert probe["proxy"] == ["HTTP_X_FORWARDED_PROTO", "https"]
    assert (probe["limit"], probe["address_limit"], probe["cooloff"]) == (3, 50, 150)
    assert probe["proxies"] == 1


def _tls_settings(settings):
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = True
    settings.SECURE_HSTS_SECONDS = 31536000
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")


def test_behind_a_tls_proxy_both_cookies_are_secure_and_hsts_is_sent(client, owner, settings):
    _tls_settings(settings)
    resp = client.get(reverse("accounts:login"), HTTP_X_FORWARDED_PROTO="https")
    assert resp["Strict-Transport-Security"] == "max-age=31536000"
    assert resp.cookies["csrftoken"]["secure"] is True

    resp = client.post(
        reverse("accounts:login"),
        {"username": "owner", "password": PASSWORD},
        HTTP_X_FORWARDED_PROTO="https",
    )
    assert resp.status_code == 302
    session = resp.cookies["sessionid"]
    assert session["secure"] is True and session["httponly"] is True


def test_hsts_is_only_sent_on_requests_that_came_over_tls(client, db, settings):
    _tls_settings(settings)
    # Without the proxy's header the request came over plain HTTP, where HSTS means nothing.
    assert "Strict-Transport-Security" not in client.get(reverse("accounts:login"))
    # A client cannot claim TLS through a header Django was not told to trust.
    settings.SECURE_PROXY_SSL_HEADER = None
    resp = client.get(reverse("accounts:login"), HTTP_X_FORWARDED_PROTO="https")
    assert "Strict-Transport-Security" not in resp


def test_without_the_settings_cookies_are_not_marked_secure(client, owner):
    resp = client.post(reverse("accounts:login"), {"username": "owner", "password": PASSWORD})
    assert resp.cookies["sessionid"]["secure"] == ""


def test_console_pages_allow_only_their_own_scripts(client, owner):
    version = factories.version(
        owner,
        version_name="v1",
        metrics={"Accuracy": 0.9},
        evaluation={
            "confusion_matrix": {"labels": ["a", "b"], "confusion_matrix": [[1, 0], [0, 1]]}
        },
    )
    responses = [client.get(reverse("accounts:login"))]
    client.force_login(owner)
    for url in (
        reverse("home"),
        reverse("models_app:classifier-detail", args=["news"]),
        reverse("models_app:classifier-version-detail", args=["news", version.pk]),
    ):
        responses.append(client.get(url))
    for resp in responses:
        assert resp.status_code == 200, resp.request["PATH_INFO"]
        policy = _policy(resp)
        assert policy["script-src"] == ["'self'"]  # no inline script, no eval
        assert policy["default-src"] == ["'self'"]
        assert policy["object-src"] == ["'none'"] and policy["frame-ancestors"] == ["'none'"]
        assert policy["base-uri"] == ["'none'"] and policy["form-action"] == ["'self'"]


# An inline <script> with code, or an on…= handler attribute, would be refused under the policy.
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>\s*\S", re.IGNORECASE)
HANDLER = re.compile(r"<[^>]+\son[a-z]+\s*=", re.IGNORECASE)
EVAL = re.compile(r"\beval\s*\(|\bnew\s+Function\s*\(|set(Timeout|Interval)\(\s*[\"'`]")


def test_no_template_carries_an_inline_script_or_handler():
    templates = sorted((REPO / "templates").rglob("*.html")) + sorted(
        REPO.glob("*/templates/**/*.html")
    )
    assert templates
    for path in templates:
        text = path.read_text()
        assert not INLINE_SCRIPT.search(text), f"inline script in {path.relative_to(REPO)}"
        assert not HANDLER.search(text), f"inline event handler in {path.relative_to(REPO)}"
    for path in sorted((REPO / "static" / "js").rglob("*.js")):
        assert not EVAL.search(path.read_text()), f"eval in {path.relative_to(REPO)}"
