"""Regenerate the committed test clips in tests/data/audio with espeak-ng, sox and ffmpeg."""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import tempfile
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

SAMPLE_RATE = 16000
OUT_DIR = Path(__file__).resolve().parent.parent / "tests" / "data" / "audio"

# Two clearly different synthetic voices: diarization must be able to tell them apart,
# and a male/female pair is what real two-party calls usually look like to an encoder.
VOICES = {"rep": "en-us+m3", "customer": "en-gb+f2"}
WORDS_PER_MINUTE = 185
LEAD_IN_S = 0.5
TAIL_S = 0.6
# Gaps between turns (seconds); a negative gap is the one short overlap in the dialogue.
GAPS_S = [0.55, 0.7, 0.45, 0.8, 0.5, 0.65, 0.6, 0.75, -0.3]

# Sales call: self-introductions (rep identification), competitors, a price objection,
# and no digits (Whisper writes numbers as figures, which would muddle the WER).
DIALOGUE: list[tuple[str, str]] = [
    ("rep", "Hi, this is Dana from Dealsight. Thanks for taking my call today."),
    ("customer", "Hello Dana, this is Laura. I only have a few minutes."),
    ("rep", "Of course. How does your team track sales calls right now?"),
    ("customer", "We use HubSpot. We looked at Salesforce, but it was far too expensive."),
    ("rep", "That makes sense. Dealsight works with your HubSpot data and records every call."),
    ("customer", "Honestly, price is my main concern. Our budget is tight this quarter."),
    ("rep", "I understand. Our starter plan is billed monthly and there is no annual contract."),
    ("customer", "That sounds better. Can you send me a proposal by Friday?"),
    ("rep", "Absolutely. I will send it today and book a demo for your team next week."),
    ("customer", "Perfect, thank you Dana. Talk soon."),
]
SHORT_TEXT = "Thanks for joining the call. Let's review the proposal."

Float = npt.NDArray[np.float32]


@dataclass
class PlacedTurn:
    """A synthesised turn and where it sits in the mix."""

    speaker: str
    text: str
    start: float
    end: float


def run(*cmd: str) -> None:
    """Run a tool quietly, failing loudly."""
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def read_wav(path: Path) -> Float:
    """Read a 16-bit mono PCM wav as float32 in [-1, 1]."""
    with wave.open(str(path), "rb") as wav:
        assert wav.getsampwidth() == 2 and wav.getnchannels() == 1
        data = wav.readframes(wav.getnframes())
    return (np.frombuffer(data, dtype="<i2").astype(np.float32) / 32768.0).astype(np.float32)


def write_wav(path: Path, channels: Float) -> None:
    """Write (channels, samples) float32 as 16-bit PCM."""
    pcm = np.clip(np.round(channels * 32767.0), -32768, 32767).astype("<i2")
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(channels.shape[0])
        wav.setsampwidth(2)
        wav.setframerate(SAMPLE_RATE)
        wav.writeframes(pcm.T.tobytes())


def synth(text: str, voice: str, tmp: Path) -> Float:
    """Speak text with espeak-ng, resample to 16 kHz with sox, trim silence, normalise."""
    raw, resampled = tmp / "raw.wav", tmp / "16k.wav"
    run("espeak-ng", "-v", voice, "-s", str(WORDS_PER_MINUTE), "-w", str(raw), text)
    # -D: no dither, so reruns write byte-identical clips.
    run("sox", "-D", str(raw), "-r", str(SAMPLE_RATE), "-b", "16", str(resampled))
    audio = read_wav(resampled)
    # espeak pads with silence; trim it so reference turn times match the audible speech.
    loud = np.flatnonzero(np.abs(audio) > 0.02 * np.abs(audio).max())
    margin = int(0.02 * SAMPLE_RATE)
    audio = audio[max(0, loud[0] - margin) : loud[-1] + margin]
    gain = 0.45 / float(np.abs(audio).max())
    return np.asarray(audio * gain, dtype=np.float32)


def build_dialogue(tmp: Path) -> tuple[Float, list[PlacedTurn]]:
    """Place every turn on its speaker's channel (0 = rep, 1 = customer)."""
    clips = [(spk, text, synth(text, VOICES[spk], tmp)) for spk, text in DIALOGUE]
    placed: list[PlacedTurn] = []
    cursor = LEAD_IN_S
    for i, (spk, text, audio) in enumerate(clips):
        if i > 0:
            cursor += GAPS_S[i - 1]
        dur = len(audio) / SAMPLE_RATE
        placed.append(PlacedTurn(spk, text, round(cursor, 3), round(cursor + dur, 3)))
        cursor += dur
    total = int((cursor + TAIL_S) * SAMPLE_RATE)
    stereo = np.zeros((2, total), dtype=np.float32)
    for turn, (_, _, audio) in zip(placed, clips, strict=True):
        ch = 0 if turn.speaker == "rep" else 1
        at = int(round(turn.start * SAMPLE_RATE))
        stereo[ch, at : at + len(audio)] += audio
    return stereo, placed


def reference(turns: list[PlacedTurn], duration: float, **extra: object) -> dict[str, object]:
    """The JSON reference stored next to a clip."""
    return {
        "sample_rate": SAMPLE_RATE,
        "duration": round(duration, 3),
        **extra,
        "turns": [
            {"speaker": t.speaker, "start": t.start, "end": t.end, "text": t.text} for t in turns
        ],
    }


def ffmpeg(src: Path, dst: Path, *codec: str) -> None:
    """Encode src to dst; bitexact so reruns give identical bytes."""
    run(
        "ffmpeg", "-y", "-hide_banner", "-loglevel", "error", "-i", str(src),
        "-map_metadata", "-1", "-fflags", "+bitexact", "-flags:a", "+bitexact",
        *codec, str(dst),
    )  # fmt: skip


def main() -> None:
    """Write every clip and its reference JSON."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=OUT_DIR)
    out: Path = parser.parse_args().out
    out.mkdir(parents=True, exist_ok=True)
    manifest: dict[str, dict[str, object]] = {}
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        stereo, turns = build_dialogue(tmp)
        duration = stereo.shape[1] / SAMPLE_RATE
        write_wav(tmp / "stereo.wav", stereo)
        write_wav(tmp / "mono.wav", np.clip(stereo.sum(axis=0, keepdims=True), -1, 1))
        # IMA ADPCM (4 bits/sample, common in dialer exports) keeps the dialogue under 1 MB.
        ffmpeg(tmp / "stereo.wav", out / "dialogue_stereo.wav", "-c:a", "adpcm_ima_wav")
        ffmpeg(tmp / "mono.wav", out / "dialogue_mono.wav", "-c:a", "adpcm_ima_wav")
        ffmpeg(tmp / "mono.wav", out / "dialogue_mono.mp3", "-c:a", "libmp3lame", "-b:a", "24k")
        ffmpeg(tmp / "mono.wav", out / "dialogue_mono.opus", "-c:a", "libopus", "-b:a", "16k")
        stereo_ref = reference(turns, duration, channels={"0": "rep", "1": "customer"})
        (out / "dialogue_stereo.json").write_text(json.dumps(stereo_ref, indent=1) + "\n")
        (out / "dialogue_mono.json").write_text(json.dumps(reference(turns, duration), indent=1))
        for name, chans in [("dialogue_stereo.wav", 2), ("dialogue_mono.wav", 1),
                            ("dialogue_mono.mp3", 1), ("dialogue_mono.opus", 1)]:  # fmt: skip
            manifest[name] = {"channels": chans, "duration": round(duration, 3)}

        short = synth(SHORT_TEXT, VOICES["rep"], tmp)
        short = np.concatenate([np.zeros(4800, np.float32), short, np.zeros(4800, np.float32)])
        write_wav(out / "short_mono.wav", short[None, :])
        short_dur = len(short) / SAMPLE_RATE
        short_turn = PlacedTurn("rep", SHORT_TEXT, 0.3, round(short_dur - 0.3, 3))
        (out / "short_mono.json").write_text(json.dumps(reference([short_turn], short_dur)))
        manifest["short_mono.wav"] = {"channels": 1, "duration": round(short_dur, 3)}
        # Written to a pipe like a browser's MediaRecorder: the webm declares no duration,
        # which is what the decode-time length limit exists for.
        with (out / "short_mono.webm").open("wb") as webm:
            subprocess.run(
                ["ffmpeg", "-hide_banner", "-loglevel", "error", "-i", str(out / "short_mono.wav"),
                 "-map_metadata", "-1", "-fflags", "+bitexact", "-flags:a", "+bitexact",
                 "-c:a", "libopus", "-b:a", "16k", "-f", "webm", "pipe:"],
                check=True, stdout=webm,
            )  # fmt: skip
        manifest["short_mono.webm"] = {"channels": 1, "duration": round(short_dur, 3)}
        # The same mono signal on both channels, as some recorders write it.
        write_wav(tmp / "fake.wav", np.stack([short, short]))
        ffmpeg(tmp / "fake.wav", out / "fake_stereo.wav", "-c:a", "adpcm_ima_wav")
        manifest["fake_stereo.wav"] = {"channels": 2, "duration": round(short_dur, 3)}

    write_wav(out / "silence.wav", np.zeros((1, 5 * SAMPLE_RATE), np.float32))
    manifest["silence.wav"] = {"error": "no_speech"}
    write_wav(out / "empty.wav", np.zeros((1, 0), np.float32))
    manifest["empty.wav"] = {"error": "empty_audio"}
    (out / "not_audio.wav").write_text("This is a text file pretending to be a wav.\n" * 20)
    manifest["not_audio.wav"] = {"error": "unsupported_media"}
    # The first 30% of the mp3 bytes: what an interrupted upload or download leaves behind.
    mp3 = (out / "dialogue_mono.mp3").read_bytes()
    (out / "truncated.mp3").write_bytes(mp3[: int(len(mp3) * 0.3)])
    manifest["truncated.mp3"] = {"error": "truncated_media"}
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")

    total = sum(p.stat().st_size for p in out.iterdir())
    print(f"dialogue {duration:.1f} s, {len(turns)} turns; {total / 1e6:.2f} MB in {out}")


if __name__ == "__main__":
    if not (shutil.which("espeak-ng") and shutil.which("sox") and shutil.which("ffmpeg")):
        raise SystemExit("needs espeak-ng, sox and ffmpeg on PATH")
    main()
