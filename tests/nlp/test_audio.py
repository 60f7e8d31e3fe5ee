"""Decoding: every format to 16 kHz float32 channels, and every bad input to its error code."""

from __future__ import annotations

import json
import pickle
import wave
from pathlib import Path
from typing import Any

import av
import numpy as np
import numpy.typing as npt
import pytest

from nlp.audio import SAMPLE_RATE, AudioError, DecodedAudio, decode_audio, has_speech

from .conftest import AUDIO, decode

MANIFEST: dict[str, dict[str, Any]] = json.loads((AUDIO / "manifest.json").read_text())
GOOD = sorted(name for name, info in MANIFEST.items() if "error" not in info)
BAD = sorted((name, info["error"]) for name, info in MANIFEST.items() if "error" in info)
# IMA ADPCM pads the last block (up to ~0.13 s at 16 kHz); mp3/opus priming is trimmed.
DURATION_TOLERANCE_S = 0.15


def write_wav(path: Path, samples: npt.NDArray[np.float64], rate: int = SAMPLE_RATE) -> Path:
    """Write a mono 16-bit wav from floats in [-1, 1]."""
    pcm = np.clip(samples * 32767, -32768, 32767).astype("<i2")
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(pcm.tobytes())
    return path


@pytest.mark.parametrize("name", GOOD)
def test_each_format_decodes_to_16k_float32_channels(name: str) -> None:
    audio = decode(name)
    assert audio.sample_rate == SAMPLE_RATE
    assert audio.samples.dtype == np.float32
    assert audio.samples.ndim == 2
    assert audio.channels == MANIFEST[name]["channels"]
    assert audio.duration == pytest.approx(MANIFEST[name]["duration"], abs=DURATION_TOLERANCE_S)
    assert float(np.abs(audio.samples).max()) <= 1.0
    assert float(np.abs(audio.samples).max()) > 0.1


def encode(source: DecodedAudio, path: Path, codec: str) -> Path:
    """Re-encode decoded audio with PyAV into another container and codec."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=source.sample_rate)
        assert isinstance(stream, av.AudioStream)
        layout = "stereo" if source.channels == 2 else "mono"
        stream.layout = layout
        formats = stream.codec_context.codec.audio_formats
        assert formats
        pcm = np.clip(source.samples * 32767, -32768, 32767).astype(np.int16)
        frame = av.AudioFrame.from_ndarray(pcm.T.reshape(1, -1), format="s16", layout=layout)
        frame.sample_rate = source.sample_rate
        resampler = av.AudioResampler(formats[0].name, layout, source.sample_rate)
        for chunk in resampler.resample(frame):
            for packet in stream.encode(chunk):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return path


@pytest.mark.parametrize(
    ("suffix", "codec"), [("m4a", "aac"), ("flac", "flac"), ("wav", "pcm_mulaw")]
)
@pytest.mark.parametrize("clip", ["short_mono.wav", "fake_stereo.wav"])
def test_other_codecs_decode(tmp_path: Path, clip: str, suffix: str, codec: str) -> None:
    source = decode(clip)
    audio = decode_audio(encode(source, tmp_path / f"clip.{suffix}", codec), max_duration_s=60)
    assert (audio.channels, audio.sample_rate) == (source.channels, SAMPLE_RATE)
    assert audio.duration == pytest.approx(source.duration, abs=0.1)


def test_stereo_channels_are_kept_apart() -> None:
    audio = decode("dialogue_stereo.wav")
    first_turn = audio.samples[:, int(0.6 * SAMPLE_RATE) : int(4.2 * SAMPLE_RATE)]
    # The rep speaks first, on channel 0; the customer's channel is silent meanwhile.
    assert np.abs(first_turn[0]).max() > 0.1
    assert np.abs(first_turn[1]).max() < 0.01
    assert audio.mono() == pytest.approx(audio.samples.mean(axis=0), abs=1e-6)
    assert audio.channel(1).flags["C_CONTIGUOUS"]


@pytest.mark.parametrize(("name", "code"), BAD)
def test_bad_clips_raise_their_code(name: str, code: str) -> None:
    with pytest.raises(AudioError) as caught:
        decode(name)
    assert caught.value.code == code
    assert caught.value.message


def test_truncated_mp3_is_caught_by_declared_duration() -> None:
    # PyAV decodes the 30% that exists without any error; only the header's duration
    # (the Xing frame count) shows that the rest is missing.
    with av.open(str(AUDIO / "truncated.mp3")) as container:
        samples = sum(frame.samples for frame in container.decode(audio=0))
    assert 0 < samples < 0.5 * MANIFEST["dialogue_mono.mp3"]["duration"] * SAMPLE_RATE
    with pytest.raises(AudioError) as caught:
        decode("truncated.mp3")
    assert caught.value.code == "truncated_media"
    assert "declares" in caught.value.message


def test_decoder_error_mid_stream_is_truncated_media(tmp_path: Path) -> None:
    data = bytearray((AUDIO / "dialogue_mono.mp3").read_bytes())
    middle = len(data) // 2
    garbage = np.random.default_rng(1).integers(0, 256, len(data) // 20, dtype=np.uint8)
    data[middle : middle + len(garbage)] = garbage.tobytes()
    (tmp_path / "corrupt.mp3").write_bytes(bytes(data))
    with pytest.raises(AudioError) as caught:
        decode_audio(tmp_path / "corrupt.mp3", max_duration_s=600)
    assert caught.value.code == "truncated_media"


def test_zero_byte_file_is_empty_audio(tmp_path: Path) -> None:
    (tmp_path / "zero.m4a").write_bytes(b"")
    with pytest.raises(AudioError) as caught:
        decode_audio(tmp_path / "zero.m4a", max_duration_s=60)
    assert caught.value.code == "empty_audio"


def test_video_without_audio_is_unsupported(tmp_path: Path) -> None:
    path = tmp_path / "video_only.mp4"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("mpeg4", rate=10)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for i in range(5):
            image = np.full((48, 64, 3), i * 40, dtype=np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    with pytest.raises(AudioError) as caught:
        decode_audio(path, max_duration_s=60)
    assert caught.value.code == "unsupported_media"
    assert "no audio stream" in caught.value.message


def test_noise_without_speech_is_no_speech_by_vad(tmp_path: Path) -> None:
    # Loud enough to pass the level test: only the VAD can tell there is nobody talking.
    noise = np.random.default_rng(0).normal(0, 0.1, 4 * SAMPLE_RATE)
    path = write_wav(tmp_path / "noise.wav", noise)
    with pytest.raises(AudioError) as caught:
        decode_audio(path, max_duration_s=60)
    assert caught.value.code == "no_speech"
    assert not has_speech(decode_audio(path, max_duration_s=60, require_speech=False).channel(0))


def test_require_speech_false_returns_silence() -> None:
    audio = decode_audio(AUDIO / "silence.wav", max_duration_s=60, require_speech=False)
    assert audio.duration == pytest.approx(5.0)
    assert not np.any(audio.samples)


def test_too_long_from_the_declared_duration() -> None:
    with pytest.raises(AudioError) as caught:
        decode_audio(AUDIO / "dialogue_stereo.wav", max_duration_s=10)
    assert caught.value.code == "too_long"


def test_too_long_enforced_while_decoding_when_nothing_is_declared() -> None:
    # A webm written to a pipe (as browsers record) carries no duration at all.
    with av.open(str(AUDIO / "short_mono.webm")) as container:
        assert container.duration is None and container.streams.audio[0].duration is None
    with pytest.raises(AudioError) as caught:
        decode_audio(AUDIO / "short_mono.webm", max_duration_s=1.0)
    assert caught.value.code == "too_long"
    assert decode_audio(AUDIO / "short_mono.webm", max_duration_s=5.0).duration > 3.0


def test_other_sample_rates_are_resampled(tmp_path: Path) -> None:
    audio = decode("short_mono.wav")
    with wave.open(str(tmp_path / "8k.wav"), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes((audio.channel(0)[::2] * 32767).astype("<i2").tobytes())
    resampled = decode_audio(tmp_path / "8k.wav", max_duration_s=60)
    assert resampled.sample_rate == SAMPLE_RATE
    assert resampled.duration == pytest.approx(audio.duration, abs=0.01)


def test_missing_file_is_not_a_media_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        decode_audio(tmp_path / "nope.wav", max_duration_s=60)


def test_audio_error_survives_pickling() -> None:
    error = pickle.loads(pickle.dumps(AudioError("too_long", "over the limit")))
    assert (error.code, error.message, str(error)) == (
        "too_long",
        "over the limit",
        "too_long: over the limit",
    )


def test_decoded_audio_properties() -> None:
    audio = DecodedAudio(np.zeros((2, 32000), dtype=np.float32))
    assert (audio.channels, audio.duration, audio.mono().shape) == (2, 2.0, (32000,))
