"""Real `dealsight` processes for crash tests: start, wait until ready, SIGKILL."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import wave
from pathlib import Path

import httpx
import numpy as np

from tests.conftest import AUDIO

DEALSIGHT = str(Path(sys.executable).parent / "dealsight")


def free_port() -> int:
    """An unused loopback port."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def service_env(data_dir: Path, database_url: str, **extra: str) -> dict[str, str]:
    """Environment for a child process sharing the test's database and blob directory."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEALSIGHT_")}
    env.update(
        {
            "DEALSIGHT_ENV": "test",
            "DEALSIGHT_DATA_DIR": str(data_dir),
            "DEALSIGHT_DATABASE_URL": database_url,
            "DEALSIGHT_JOBS__SWEEP_INTERVAL_S": "0.5",
            "DEALSIGHT_JOBS__BACKOFF_BASE_S": "0.2",
            "DEALSIGHT_LOG_LEVEL": "INFO",
        }
    )
    env.update(extra)
    return env


class Proc:
    """A child process in its own process group, killed with everything it forked."""

    def __init__(self, args: list[str], env: dict[str, str], log: Path) -> None:
        self.log = log
        self._out = log.open("ab")
        self.popen = subprocess.Popen(
            args, env=env, stdout=self._out, stderr=subprocess.STDOUT, start_new_session=True
        )

    def kill(self) -> None:
        """SIGKILL the whole group: no clean-up code runs, as in a power cut or OOM kill."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGKILL)
        self.popen.wait(timeout=30)
        self._out.close()

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it does not exit."""
        if self.popen.poll() is None:
            try:
                os.killpg(self.popen.pid, signal.SIGTERM)
                self.popen.wait(timeout=20)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                self.kill()
        if not self._out.closed:
            self._out.close()

    def output(self) -> str:
        """What the process printed so far."""
        return self.log.read_text(errors="replace")


def start_server(env: dict[str, str], log: Path) -> tuple[Proc, str]:
    """`dealsight serve` on a free port, once /readyz answers 200."""
    port = free_port()
    proc = Proc([DEALSIGHT, "serve", "--host", "127.0.0.1", "--port", str(port)], env, log)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.popen.poll() is not None:
            raise AssertionError(f"server exited early:\n{proc.output()}")
        try:
            if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    proc.kill()
    raise AssertionError(f"server not ready after 60 s:\n{proc.output()}")


def long_stereo(path: Path, repeats: int = 5) -> Path:
    """The stereo test dialogue repeated, for a transcription long enough to interrupt."""
    from nlp.audio import decode_audio

    audio = decode_audio(AUDIO / "dialogue_stereo.wav", max_duration_s=600)
    pcm = (np.clip(np.tile(audio.samples, repeats), -1.0, 1.0) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as dst:
        dst.setnchannels(audio.samples.shape[0])
        dst.setsampwidth(2)
        dst.setframerate(audio.sample_rate)
        dst.writeframes(pcm.T.tobytes())  # interleave channels frame by frame
    return path
