"""`Last-Event-ID` is the SSE resume point: anything but an ASCII change id is a 422, never a 500."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.usefixtures("chains")


@pytest.mark.parametrize("value", ["\u00b9\u00b2", "12a", "-1", "9" * 20])
def test_changes__last_event_id_not_a_change_id__422(client, value):
    response = client.get("/v1/changes", headers={"Last-Event-ID": value.encode("latin-1")})
    assert response.status_code == 422, response.text
    assert "Last-Event-ID" in response.json()["message"]
