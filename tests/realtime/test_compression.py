"""LIVE_COMPRESSION: the live sockets send uncompressed frames unless it is on (each socket
would otherwise compress every push with its own zlib context), and the setting reads as a
yes/no value with a clear refusal of anything else."""

from __future__ import annotations

from typing import Any

import pytest

from app.settings import SettingsError, load_settings
from tests.helpers import Account
from tests.realtime.servers import WebProcess, connect, session_cookie


async def test_live_sockets_compress_only_when_asked(
    services: dict[str, str], client_a: Any, tenant_a: Account, tenant_b: Account
) -> None:
    plain = WebProcess(services).start()
    deflating = WebProcess({**services, "LIVE_COMPRESSION": "on"}).start()
    sockets = []
    try:
        for server in (plain, deflating):
            server.wait_ready()
        cookie = session_cookie(client_a)
        sockets = [await connect(plain, cookie), await connect(deflating, cookie)]
        # the client offers permessage-deflate, as browsers do; the server decides
        offered = [[e.name for e in ws.protocol.extensions] for ws in sockets]
        assert offered == [[], ["permessage-deflate"]]
    finally:
        for ws in sockets:
            await ws.close()
        plain.stop()
        deflating.stop()


@pytest.mark.parametrize(
    ("raw", "value"), [("1", True), ("YES", True), ("on", True), ("0", False), ("", False)]
)
def test_live_compression_reads_yes_or_no(raw: str, value: bool) -> None:
    assert load_settings({"ODEX_ENV": "test", "LIVE_COMPRESSION": raw}).live_compression is value


def test_live_compression_refuses_anything_else() -> None:
    with pytest.raises(SettingsError, match="yes/no setting"):
        load_settings({"ODEX_ENV": "test", "LIVE_COMPRESSION": "sometimes"})
