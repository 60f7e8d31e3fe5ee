"""Mono-recording diarization: who spoke when, as labelled speaker turns."""

from __future__ import annotations

import importlib.util
import threading
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Protocol

import numpy as np
import numpy.typing as npt

SAMPLE_RATE: Final = 16000
# Speaker-count estimation costs O(n^3) per pruning level: look at this many windows at most.
MAX_ESTIMATE_WINDOWS: Final = 300
TORCH_THREADS: Final = 1


@dataclass(frozen=True, slots=True)
class SpeakerTurn:
    """A stretch of speech (seconds) attributed to one speaker label."""

    start: float
    end: float
    label: str


class Diarizer(Protocol):
    """Anything that splits a mono signal into speaker turns."""

    def diarize(self, audio: npt.NDArray[np.float32], sample_rate: int) -> list[SpeakerTurn]:
        """Speaker turns of a mono float32 signal, in time order."""
        ...


def load_default_diarizer() -> Diarizer | None:
    """The built-in ResemblyzerDiarizer, or None when the `diarize` extra is not installed."""
    needed = ("resemblyzer", "torch", "sklearn", "scipy")
    if any(importlib.util.find_spec(name) is None for name in needed):
        return None
    return ResemblyzerDiarizer()


_encoder: Any = None
_encoder_lock = threading.Lock()


def voice_encoder() -> Any:
    """The process's resemblyzer.VoiceEncoder on CPU (weights ship in the package), loaded once."""
    global _encoder
    if _encoder is None:
        with _encoder_lock:
            if _encoder is None:
                import torch

                # Measured on 2 busy cores: torch's default of one thread per core made a 42 s
                # call take 1-14 s (spinning threads fight Whisper's); one thread took 0.6-1.7 s.
                # This is process-wide, like every torch thread setting.
                torch.set_num_threads(TORCH_THREADS)
                with warnings.catch_warnings():
                    # resemblyzer imports a deprecated scipy namespace: not ours to fix.
                    warnings.simplefilter("ignore", DeprecationWarning)
                    from resemblyzer import VoiceEncoder

                _encoder = VoiceEncoder("cpu", verbose=False)
    return _encoder


class ResemblyzerDiarizer:
    """Resemblyzer embeddings over sliding speech windows, clustered spectrally (CPU only)."""

    def __init__(
        self,
        *,
        num_speakers: int | None = 2,
        max_speakers: int = 6,
        window_s: float = 1.5,
        step_s: float = 0.75,
        merge_gap_s: float = 0.5,
        min_windows_for_estimate: int = 20,
    ) -> None:
        self.num_speakers = num_speakers
        self.max_speakers = max_speakers
        self.window_s = window_s
        self.step_s = step_s
        self.merge_gap_s = merge_gap_s
        self.min_windows_for_estimate = min_windows_for_estimate

    def diarize(self, audio: npt.NDArray[np.float32], sample_rate: int) -> list[SpeakerTurn]:
        """Speaker turns labelled SPEAKER_00, SPEAKER_01... in order of first appearance."""
        if sample_rate != SAMPLE_RATE:
            raise ValueError(f"the voice encoder needs {SAMPLE_RATE} Hz audio, got {sample_rate}")
        spans = self._windows(audio)
        if not spans:
            return []
        embeddings = self._embed(audio, spans)
        labels = cluster_embeddings(
            embeddings,
            num_speakers=self.num_speakers,
            max_speakers=self.max_speakers,
            min_windows_for_estimate=self.min_windows_for_estimate,
        )
        return self._turns(spans, labels)

    def _windows(self, audio: npt.NDArray[np.float32]) -> list[tuple[float, float, float, float]]:
        """(window start, window end, owned start, owned end) for each window inside speech."""
        from faster_whisper.vad import VadOptions, get_speech_timestamps

        # Tighter than Whisper's VAD defaults: pauses between turns must split regions.
        options = VadOptions(min_speech_duration_ms=250, min_silence_duration_ms=300,
                             speech_pad_ms=60)  # fmt: skip
        spans: list[tuple[float, float, float, float]] = []
        for region in get_speech_timestamps(audio, options, SAMPLE_RATE):
            start, end = region["start"] / SAMPLE_RATE, region["end"] / SAMPLE_RATE
            if end - start <= self.window_s:
                spans.append((start, end, start, end))
                continue
            # Each window speaks for the step around its centre, and stays inside its speech
            # region: a window reaching across a pause would hear the next speaker too.
            count = int(np.ceil((end - start) / self.step_s))
            owned = (end - start) / count
            for i in range(count):
                own_start, own_end = start + i * owned, start + (i + 1) * owned
                centre = (own_start + own_end) / 2
                w_start = min(max(start, centre - self.window_s / 2), end - self.window_s)
                spans.append((w_start, w_start + self.window_s, own_start, own_end))
        return spans

    def _embed(
        self, audio: npt.NDArray[np.float32], spans: Sequence[tuple[float, float, float, float]]
    ) -> npt.NDArray[np.float32]:
        """One L2-normalised embedding per window, computed in batches."""
        import torch

        encoder = voice_encoder()  # imports resemblyzer quietly the first time
        from resemblyzer.audio import normalize_volume, wav_to_mel_spectrogram

        bounds = [(int(s[0] * SAMPLE_RATE), int(s[1] * SAMPLE_RATE)) for s in spans]

        def mel(index: int) -> npt.NDArray[np.float32]:
            begin, end = bounds[index]
            # The encoder was trained on level-normalised speech (-30 dBFS).
            level = normalize_volume(audio[begin:end], -30, increase_only=True)
            return np.asarray(wav_to_mel_spectrogram(level), dtype=np.float32)

        # Windows of equal length (all but those of short regions) go through in batches,
        # computing spectrograms batch by batch so a long call never holds them all.
        by_length: dict[int, list[int]] = {}
        for i, (begin, end) in enumerate(bounds):
            by_length.setdefault(end - begin, []).append(i)
        embeddings = np.zeros((len(spans), 256), dtype=np.float32)
        with torch.inference_mode():
            for indices in by_length.values():
                for first in range(0, len(indices), 64):
                    chunk = indices[first : first + 64]
                    batch = torch.from_numpy(np.stack([mel(i) for i in chunk]))
                    embeddings[chunk] = encoder(batch.float().to(encoder.device)).cpu().numpy()
        return embeddings

    def _turns(
        self, spans: Sequence[tuple[float, float, float, float]], labels: Sequence[int]
    ) -> list[SpeakerTurn]:
        """Merge adjacent windows of one cluster into turns, naming clusters by first appearance."""
        names: dict[int, str] = {}
        turns: list[SpeakerTurn] = []
        for (_, _, start, end), cluster in zip(spans, labels, strict=True):
            label = names.setdefault(cluster, f"SPEAKER_{len(names):02d}")
            if turns and turns[-1].label == label and start - turns[-1].end <= self.merge_gap_s:
                turns[-1] = SpeakerTurn(turns[-1].start, round(end, 3), label)
            else:
                turns.append(SpeakerTurn(round(start, 3), round(end, 3), label))
        return turns


def cluster_embeddings(
    embeddings: npt.NDArray[np.float32],
    *,
    num_speakers: int | None,
    max_speakers: int = 6,
    min_windows_for_estimate: int = 20,
) -> list[int]:
    """Spectral clustering of embeddings on a cosine affinity; estimate k by eigengap if None."""
    n = len(embeddings)
    if n < 2:
        return [0] * n
    unit = embeddings / np.maximum(np.linalg.norm(embeddings, axis=1, keepdims=True), 1e-9)
    # Resemblyzer embeddings are non-negative, so cosine similarity is already in [0, 1].
    affinity = np.clip(unit @ unit.T, 0.0, 1.0).astype(np.float64)
    if num_speakers is None:
        k = estimate_speakers(affinity, max_speakers) if n >= min_windows_for_estimate else 2
    else:
        k = num_speakers
    k = max(1, min(k, n))
    if k == 1:
        return [0] * n
    from sklearn.cluster import SpectralClustering

    model = SpectralClustering(n_clusters=k, affinity="precomputed", random_state=0)
    return [int(label) for label in model.fit_predict(affinity)]


def estimate_speakers(similarity: npt.NDArray[np.float64], max_speakers: int) -> int:
    """Number of speakers from the eigengap of a pruned affinity (pruning chosen as NME-SC)."""
    # Raw cosine affinities of one call are all high (one connected blob, always "1 speaker"):
    # keeping only each window's nearest neighbours exposes the clusters. The share kept is
    # the one whose eigengap is largest for the least pruning (Park et al. 2019, NME-SC).
    n = len(similarity)
    if n > MAX_ESTIMATE_WINDOWS:
        picked = np.linspace(0, n - 1, MAX_ESTIMATE_WINDOWS).round().astype(int)
        similarity, n = similarity[np.ix_(picked, picked)], MAX_ESTIMATE_WINDOWS
    best_ratio, best_k = np.inf, 1
    for keep in np.unique(np.linspace(2, max(2, n // 2), 24).round().astype(int)):
        nearest = np.argsort(-similarity, axis=1)[:, :keep]
        binary = np.zeros_like(similarity)
        np.put_along_axis(binary, nearest, 1.0, axis=1)
        affinity = (binary + binary.T) / 2
        inv_sqrt = 1.0 / np.sqrt(affinity.sum(axis=1))
        laplacian = np.eye(n) - inv_sqrt[:, None] * affinity * inv_sqrt[None, :]
        eigenvalues = np.sort(np.linalg.eigvalsh(laplacian))
        gaps = np.diff(eigenvalues[: max_speakers + 1])
        ratio = (keep / n) / (gaps.max() / max(eigenvalues[-1], 1e-9) + 1e-9)
        if ratio < best_ratio:
            best_ratio, best_k = ratio, int(np.argmax(gaps)) + 1
    return best_k


class PyannoteDiarizer:
    """Adapter for a pyannote.audio Pipeline; untested here (no offline pyannote install)."""

    def __init__(self, pipeline: Any | str | Path, *, num_speakers: int | None = None) -> None:
        if isinstance(pipeline, str | Path):
            from pyannote.audio import Pipeline

            # A local config.yaml path: pyannote resolves it without a hub lookup.
            pipeline = Pipeline.from_pretrained(str(pipeline))
        self.pipeline = pipeline
        self.num_speakers = num_speakers

    def diarize(self, audio: npt.NDArray[np.float32], sample_rate: int) -> list[SpeakerTurn]:
        """Run the pipeline on an in-memory waveform and map its annotation to SpeakerTurns."""
        import torch

        waveform = {"waveform": torch.from_numpy(audio[None, :]), "sample_rate": sample_rate}
        kwargs = {} if self.num_speakers is None else {"num_speakers": self.num_speakers}
        output = self.pipeline(waveform, **kwargs)
        # pyannote 4 wraps the annotation in an output object; 3.x returns it directly.
        annotation = getattr(output, "speaker_diarization", output)
        turns = [
            SpeakerTurn(round(float(seg.start), 3), round(float(seg.end), 3), str(label))
            for seg, _, label in annotation.itertracks(yield_label=True)
        ]
        return sorted(turns, key=lambda t: (t.start, t.end))


def diarization_error_rate(
    reference: Sequence[SpeakerTurn], hypothesis: Sequence[SpeakerTurn], *, frame_s: float = 0.01
) -> float:
    """Frame-based DER (missed + false alarm + confusion over reference speech), no collar."""
    from scipy.optimize import linear_sum_assignment

    end = max((t.end for t in [*reference, *hypothesis]), default=0.0)
    frames = int(np.ceil(end / frame_s))
    ref = _activity(reference, frames, frame_s)
    hyp = _activity(hypothesis, frames, frame_s)
    ref_count, hyp_count = ref.sum(axis=0), hyp.sum(axis=0)
    total = int(ref_count.sum())
    if total == 0:
        return 0.0 if hyp_count.sum() == 0 else 1.0
    # Frames where a reference speaker and a hypothesis label talk together; the best
    # one-to-one label mapping (Hungarian) maximises the frames counted as correct.
    overlap = ref.astype(np.int64) @ hyp.astype(np.int64).T
    rows, cols = linear_sum_assignment(overlap, maximize=True)
    correct = int(overlap[rows, cols].sum())
    missed = int(np.maximum(ref_count - hyp_count, 0).sum())
    false_alarm = int(np.maximum(hyp_count - ref_count, 0).sum())
    confusion = int(np.minimum(ref_count, hyp_count).sum()) - correct
    return (missed + false_alarm + confusion) / total


def _activity(turns: Sequence[SpeakerTurn], frames: int, frame_s: float) -> npt.NDArray[np.bool_]:
    """A (labels, frames) boolean matrix: which label speaks in which frame."""
    labels = sorted({t.label for t in turns})
    matrix = np.zeros((max(len(labels), 1), frames), dtype=np.bool_)
    index = {label: i for i, label in enumerate(labels)}
    for t in turns:
        matrix[index[t.label], int(round(t.start / frame_s)) : int(round(t.end / frame_s))] = True
    return matrix
