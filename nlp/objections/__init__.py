"""Customer objection classification: the taxonomy, a fine-tuned model and a keyword baseline."""

CATEGORIES: tuple[str, ...] = (
    "price",
    "timing",
    "authority",
    "need",
    "competition",
    "trust",
    "security",
    "integration",
    "contract",
)
