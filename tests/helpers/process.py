"""The bot as a real process (`python -m bot run`) that tests can kill -9 and restart.

The Discord emulator and the useapi simulator run in the test's event loop; the bot talks to them
over 127.0.0.1 exactly as it would talk to Discord and useapi.net.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import sys
from dataclasses import dataclass, field
from pathlib import Path

from sandbox.discord_emu import RunningEmulator, start_emulator
from sandbox.stack import free_port
from sandbox.useapi_sim import DEFAULT_CHANNEL, RunningSimulator, SimConfig, start_simulator
from tests.helpers.invariants import assert_invariants

FAULT_SIM = SimConfig(job_started_delay=0.05, job_progress_delay=0.1, job_complete_delay=0.3)
RETRY_SCALE = "0.02"  # every back-off 50x shorter, so a reconciliation takes well under a second


@dataclass
class ProcessStack:
    """Stand-ins in this process, the bot in a child process."""

    tmp_path: Path
    emulator: RunningEmulator
    simulator: RunningSimulator
    config: Path
    db_path: Path
    process: asyncio.subprocess.Process | None = None
    log_path: Path = Path("/dev/null")
    starts: int = 0
    logs: list[str] = field(default_factory=list)

    @classmethod
    async def start(cls, tmp_path: Path, sim_config: SimConfig = FAULT_SIM) -> ProcessStack:
        emulator = await start_emulator()
        simulator = await start_simulator(sim_config)
        port = free_port()
        db_path = tmp_path / "pikabot.sqlite3"
        config = tmp_path / "config.toml"
        config.write_text(
            f"""
[discord]
api_base_url = "{emulator.api_base_url}"
gateway_url = "{emulator.gateway_url}"
[useapi]
base_url = "{simulator.base_url}"
[[useapi.accounts]]
channel = "{DEFAULT_CHANNEL}"
max_jobs = 3
[callbacks]
listen = "127.0.0.1:{port}"
public_url = "http://127.0.0.1:{port}"
[jobs]
poll_interval = 1
callback_grace = 2
[downloads]
allowed_hosts = ["127.0.0.1"]
[database]
path = "{db_path}"
[limits]
in_flight = 100
cooldown = 0
"""
        )
        return cls(tmp_path, emulator, simulator, config, db_path)

    async def launch(self, crash_at: str = "") -> None:
        """Start the bot process (optionally armed to kill itself at a crash point) and wait until it is ready."""
        env = {
            **os.environ,
            "DISCORD_TOKEN": self.emulator.emu.config.bot_token,
            "USEAPI_TOKEN": self.simulator.sim.config.api_token,
            "PIKABOT_RETRY_SCALE": RETRY_SCALE,
            "PIKABOT_CRASH_AT": crash_at,
        }
        identifies = self.emulator.emu.identifies
        self.starts += 1
        # A file, not a pipe: at DEBUG the bot writes more than a pipe buffers, and an undrained pipe
        # would block it mid-log (it did, during shutdown).
        self.log_path = self.tmp_path / f"bot-{self.starts}.log"
        with self.log_path.open("wb") as log_file:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", "run", "--config", str(self.config), "--log-level", "DEBUG",
                env=env, stdout=asyncio.subprocess.DEVNULL, stderr=log_file,
            )  # fmt: skip
        emu = self.emulator.emu
        await emu.wait_for(lambda: emu.identifies > identifies or self._exited(), 30, "the bot to identify")
        if self._exited():
            raise AssertionError(f"the bot exited at start: {await self._stderr()}")
        await emu.wait_ready(timeout=15)

    def _exited(self) -> bool:
        return self.process is not None and self.process.returncode is not None

    async def _stderr(self) -> str:
        text = self.log_path.read_text(errors="replace")
        self.logs.append(text)
        return text

    async def wait_killed(self, timeout: float = 20) -> None:
        """The armed process must reach its crash point and die of SIGKILL."""
        assert self.process is not None
        code = await asyncio.wait_for(self.process.wait(), timeout)
        await self._stderr()
        assert code == -signal.SIGKILL, f"expected a SIGKILL death, got exit code {code}"

    async def kill(self) -> None:
        """kill -9 the bot now."""
        if self.process is not None and self.process.returncode is None:
            self.process.kill()
            await self.process.wait()
            await self._stderr()

    async def terminate(self, grace: float = 15) -> int:
        """SIGTERM and wait for the exit code."""
        assert self.process is not None
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(self.process.wait(), grace)
        await self._stderr()
        return code

    def jobs(self) -> list[sqlite3.Row]:
        """The jobs table, read directly (the bot may be running: WAL lets us read alongside)."""
        if not self.db_path.exists():
            return []
        conn = sqlite3.connect(f"file:{self.db_path}?mode=ro", uri=True, timeout=5)
        conn.row_factory = sqlite3.Row
        try:
            return conn.execute("SELECT id, state, notified FROM jobs ORDER BY id").fetchall()
        except sqlite3.OperationalError:
            return []
        finally:
            conn.close()

    async def settle(self, expected_jobs: int, timeout: float = 30) -> None:
        """Wait until `expected_jobs` jobs exist and all of them ended with their member told."""
        terminal = {"delivered", "failed", "moderated", "cancelled", "expired"}
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            rows = self.jobs()
            if len(rows) >= expected_jobs and all(r["state"] in terminal and r["notified"] for r in rows):
                return
            if loop.time() > deadline:
                raise AssertionError(
                    f"jobs did not settle: {[(r['id'], r['state'], r['notified']) for r in rows]}"
                )
            await asyncio.sleep(0.05)

    def secrets(self) -> list[str]:
        """Every secret of this run: both tokens, and each raw callback token useapi was given."""
        found = [self.emulator.emu.config.bot_token, self.simulator.sim.config.api_token]
        for request in self.simulator.sim.requests:
            reply_url = request.fields.get("replyUrl")
            if reply_url:
                found.append(reply_url.rsplit("/", 1)[1])
        return found

    def check(self) -> None:
        """I1-I4, no emulator complaint, and no secret in the DEBUG logs, the database or the media folder."""
        assert_invariants(self.db_path, self.emulator.emu, self.simulator.sim)
        assert self.emulator.emu.violations == [], self.emulator.emu.violations
        leftovers = [p.name for p in self.tmp_path.rglob(".download-*.part")]
        assert leftovers == [], f"partial downloads left behind: {leftovers}"
        stored = b"".join(
            p.read_bytes() for p in self.tmp_path.rglob("*") if p.is_file() and p.suffix != ".toml"
        )
        for secret in self.secrets():
            for text in self.logs:
                assert secret not in text, "a secret reached the log"
            assert secret.encode() not in stored, "a secret reached the database or a file"

    async def close(self) -> None:
        await self.kill()
        await self.emulator.close()
        await self.simulator.close()
