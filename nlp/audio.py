"""Decode any audio file PyAV can read to float32 16 kHz channels, with clear failure codes."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal

import av
import av.error
import numpy as np
import numpy.typing as npt

AudioErrorCode = Literal[
    "unsupported_media", "empty_audio", "no_speech", "truncated_media", "too_long"
]

SAMPLE_RATE: Final = 16000
# Decoded audio shorter than this share of the declared duration means the file was cut short.
TRUNCATION_RATIO: Final = 0.9
# ...but ignore differences under this many seconds: codec padding and priming differ by format.
TRUNCATION_SLACK_S: Final = 1.0
# Peak level under which a recording is treated as digital silence (-60 dBFS).
SILENCE_PEAK: Final = 1e-3
# The VAD looks at this much audio at a time and stops at the first speech it finds, so a
# long call costs a fraction of a second and only silent files are scanned to the end.
VAD_CHUNK_S: Final = 30.0

FloatArray = npt.NDArray[np.float32]


class AudioError(Exception):
    """An input recording that cannot be transcribed, with a stable machine-readable code."""

    def __init__(self, code: AudioErrorCode, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code: AudioErrorCode = code
        self.message = message

    def __reduce__(self) -> tuple[type[AudioError], tuple[AudioErrorCode, str]]:
        """Pickle by code and message, so the error survives a trip between worker processes."""
        return (AudioError, (self.code, self.message))


@dataclass(frozen=True, slots=True)
class DecodedAudio:
    """Float32 samples shaped (channels, samples), channels kept apart, at sample_rate Hz."""

    samples: FloatArray
    sample_rate: int = SAMPLE_RATE
    codec: str = ""
    container: str = ""

    @property
    def channels(self) -> int:
        """Number of channels."""
        return int(self.samples.shape[0])

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return float(self.samples.shape[1]) / self.sample_rate

    def channel(self, index: int) -> FloatArray:
        """One channel as a contiguous 1-D array (what faster-whisper expects)."""
        return np.ascontiguousarray(self.samples[index])

    def mono(self) -> FloatArray:
        """All channels averaged into one."""
        if self.channels == 1:
            return self.channel(0)
        return np.ascontiguousarray(self.samples.mean(axis=0, dtype=np.float32))


def decode_audio(
    path: str | Path,
    *,
    max_duration_s: float,
    sample_rate: int = SAMPLE_RATE,
    require_speech: bool = True,
) -> DecodedAudio:
    """Decode path frame by frame to float32 (channels, samples); raise AudioError on bad input."""
    path = Path(path)
    # A missing file is a storage bug, not a media problem: let FileNotFoundError through.
    if path.stat().st_size == 0:
        raise AudioError("empty_audio", "the file is empty (0 bytes)")
    try:
        container = av.open(str(path), metadata_errors="ignore")
    except (av.error.FFmpegError, UnicodeDecodeError, ValueError) as exc:
        raise AudioError("unsupported_media", f"not a readable media file ({exc})") from exc
    with container:
        if not container.streams.audio:
            raise AudioError("unsupported_media", "the file has no audio stream")
        stream = container.streams.audio[0]
        declared = _declared_duration(container, stream)
        if declared is not None and declared > max_duration_s:
            raise AudioError(
                "too_long", f"{declared:.0f} s of audio is over the {max_duration_s:.0f} s limit"
            )
        samples = _decode_stream(container, stream, max_duration_s, sample_rate)
        codec = stream.codec_context.name
        container_name = container.format.name
    if samples.shape[1] == 0:
        raise AudioError("empty_audio", "the file contains no audio samples")
    decoded = DecodedAudio(samples, sample_rate, codec, container_name)
    if declared is not None and _cut_short(decoded.duration, declared):
        raise AudioError(
            "truncated_media",
            f"decoded {decoded.duration:.1f} s of the {declared:.1f} s the file declares",
        )
    if require_speech:
        check_speech(decoded)
    return decoded


def _declared_duration(
    container: av.container.InputContainer, stream: av.AudioStream
) -> float | None:
    """The duration the container or stream header claims, if any."""
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return container.duration / av.time_base
    return None


def _cut_short(decoded: float, declared: float) -> bool:
    """True when clearly less audio came out than the header promised."""
    return decoded < TRUNCATION_RATIO * declared and declared - decoded > TRUNCATION_SLACK_S


def _decode_stream(
    container: av.container.InputContainer,
    stream: av.AudioStream,
    max_duration_s: float,
    sample_rate: int,
) -> FloatArray:
    """Decode and resample one stream, enforcing the duration limit as samples arrive."""
    # fltp gives planar (channels, samples) arrays; layout=None keeps the source channels.
    resampler = av.AudioResampler(format="fltp", layout=None, rate=sample_rate)
    limit = int(math.ceil(max_duration_s * sample_rate))
    chunks: list[FloatArray] = []
    total = 0
    try:
        for frame in container.decode(stream):
            for out in resampler.resample(frame):
                total = _append(chunks, out.to_ndarray(), total)
            # A header can lie about the duration; the decoded sample count cannot.
            if total > limit:
                raise AudioError(
                    "too_long", f"more than {max_duration_s:.0f} s of audio (the limit)"
                )
        for out in resampler.resample(None):
            total = _append(chunks, out.to_ndarray(), total)
    except (av.error.FFmpegError, ValueError) as exc:
        if total == 0:
            raise AudioError("unsupported_media", f"the audio cannot be decoded ({exc})") from exc
        raise AudioError(
            "truncated_media", f"decoding failed after {total / sample_rate:.1f} s ({exc})"
        ) from exc
    if total > limit:
        raise AudioError("too_long", f"more than {max_duration_s:.0f} s of audio (the limit)")
    if not chunks:
        return np.zeros((max(stream.codec_context.channels, 1), 0), dtype=np.float32)
    return np.ascontiguousarray(np.concatenate(chunks, axis=1), dtype=np.float32)


def _append(chunks: list[FloatArray], array: npt.NDArray[np.generic], total: int) -> int:
    """Add one resampled frame to chunks and return the new sample count."""
    chunks.append(array.astype(np.float32, copy=False))
    return total + int(array.shape[1])


def has_speech(samples: FloatArray, sample_rate: int = SAMPLE_RATE) -> bool:
    """True when Silero VAD finds speech in a 1-D signal (a quiet signal never has speech)."""
    if samples.size == 0 or float(np.max(np.abs(samples))) < SILENCE_PEAK:
        return False
    if sample_rate != SAMPLE_RATE:
        # Silero as bundled with faster-whisper runs at 16 kHz only: the level test must do.
        return True
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    options = VadOptions(min_speech_duration_ms=250)
    step = int(VAD_CHUNK_S * sample_rate)
    for begin in range(0, samples.shape[0], step):
        if get_speech_timestamps(samples[begin : begin + step], options, sample_rate):
            return True
    return False


def check_speech(audio: DecodedAudio) -> None:
    """Raise AudioError("no_speech") unless some channel has audible speech."""
    if float(np.max(np.abs(audio.samples))) < SILENCE_PEAK:
        raise AudioError("no_speech", "the recording is silent")
    if not any(has_speech(audio.channel(i), audio.sample_rate) for i in range(audio.channels)):
        raise AudioError("no_speech", "no speech was found in the recording")
