"""Schemathesis hooks for the control-plane property test: every 4xx must
carry ARM's error body, and every answer is counted (by status class) in
the file named by ARM_PROPERTY_COUNTS, for the test to report."""

import json
import os

import schemathesis


def _count(status):
    path = os.environ.get("ARM_PROPERTY_COUNTS")
    if path:
        with open(path, "a") as f:
            f.write(f"{status}\n")


@schemathesis.check
def arm_error_body(ctx, response, case):
    _count(response.status_code)
    if 400 <= response.status_code < 500:
        try:
            body = json.loads(response.content or b"null")
        except ValueError:
            raise AssertionError(f"a {response.status_code} whose body is not JSON: {response.content[:200]!r}")
        error = body.get("error") if isinstance(body, dict) else None
        assert isinstance(error, dict), f"a {response.status_code} without ARM's error object: {body!r}"[:400]
        assert isinstance(error.get("code"), str) and error["code"], f"no error code: {body!r}"[:400]
        assert isinstance(error.get("message"), str) and error["message"], f"no error message: {body!r}"[:400]
