"""A browser-playable rendition of a stored recording (dialers send codecs browsers lack)."""

from __future__ import annotations

import contextlib
import os
import tempfile
from functools import lru_cache
from pathlib import Path

import av

# (container, codec) pairs every current browser plays and seeks; served as stored.
PLAYABLE: dict[tuple[str, str], str] = {
    ("wav", "pcm_s16le"): "audio/wav",
    ("wav", "pcm_u8"): "audio/wav",
    ("wav", "pcm_f32le"): "audio/wav",
    ("mp3", "mp3"): "audio/mpeg",
    ("mp3", "mp3float"): "audio/mpeg",
    ("ogg", "opus"): "audio/ogg",
    ("ogg", "vorbis"): "audio/ogg",
    ("matroska,webm", "opus"): "audio/webm",
    ("matroska,webm", "vorbis"): "audio/webm",
    ("flac", "flac"): "audio/flac",
    ("mov,mp4,m4a,3gp,3g2,mj2", "aac"): "audio/mp4",
}
RENDITION_BITRATE = 64_000  # speech: 64 kb/s MP3 is plenty and universally playable


class NotPlayable(Exception):
    """The blob cannot be decoded as audio."""


@lru_cache(maxsize=4096)
def probe(path: str) -> tuple[str, str]:
    """(container, codec) of the first audio stream; blobs are immutable, so this is cached."""
    try:
        with av.open(path, metadata_errors="ignore") as container:
            if not container.streams.audio:
                raise NotPlayable("no audio stream")
            return container.format.name, container.streams.audio[0].codec_context.name
    except (av.error.FFmpegError, UnicodeDecodeError, ValueError) as exc:
        raise NotPlayable(str(exc)) from exc


def _transcode_mp3(src: Path, dst: Path) -> None:
    """Decode anything PyAV reads and write a constant-bitrate MP3 (mono or stereo)."""
    with av.open(str(src), metadata_errors="ignore") as inp:
        in_stream = inp.streams.audio[0]
        rate = in_stream.codec_context.sample_rate or 16000
        channels = 1 if (in_stream.codec_context.channels or 1) == 1 else 2
        fd, tmp_name = tempfile.mkstemp(dir=dst.parent, prefix=".rendition-", suffix=".mp3")
        os.close(fd)
        tmp = Path(tmp_name)
        try:
            with av.open(str(tmp), "w", format="mp3") as out:
                stream = out.add_stream("libmp3lame", rate=rate)
                stream.layout = "mono" if channels == 1 else "stereo"
                stream.bit_rate = RENDITION_BITRATE
                resampler = av.AudioResampler(
                    format=stream.codec_context.format, layout=stream.layout, rate=rate
                )
                for frame in inp.decode(in_stream):
                    frame.pts = None
                    for converted in resampler.resample(frame):
                        out.mux(stream.encode(converted))
                for converted in resampler.resample(None):
                    out.mux(stream.encode(converted))
                out.mux(stream.encode(None))
            os.replace(tmp, dst)  # atomic: readers see no file or the whole rendition
        finally:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()


def playable_file(blob: Path, blob_key: str, cache_dir: Path) -> tuple[Path, str]:
    """The file to stream and its media type: the blob itself, or a cached MP3 made from it."""
    container, codec = probe(str(blob))
    media_type = PLAYABLE.get((container, codec))
    if media_type is not None:
        return blob, media_type
    target = cache_dir / blob_key[:2] / f"{blob_key}.mp3"
    if not target.is_file():
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            _transcode_mp3(blob, target)
        except (av.error.FFmpegError, ValueError) as exc:
            raise NotPlayable(str(exc)) from exc
    return target, "audio/mpeg"
