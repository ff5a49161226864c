"""Specs as written: pydantic models, frozen, unknown keys rejected.

These mirror the YAML files under ``specs/`` one to one. Cross-file references (a task's
metric, a unit test's level) are plain names here; ``resolve`` binds them.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Modality = Literal["image", "video", "audio", "3d", "nlp"]
Paradigm = Literal["comprehension", "generation", "nlp"]
Name = Annotated[str, Field(min_length=1, max_length=200)]
Ident = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_.\-]*$", max_length=200)]
SqlName = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=60)]


class Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --- tasks -------------------------------------------------------------------------------


class SotaSpec(Spec):
    value: float
    source: str = "unspecified"
    model: str | None = None


class OfficialSpec(Spec):
    """How the task appears in the official score workbook (join keys, byte-exact)."""

    sheet: Name
    no: int | None = None
    metric: Name


class DatasetSpec(Spec):
    """Where a task's instances come from and how its reference is read.

    ``general_bench``: a task folder holding ``annotation.json`` (``data: [{id, input, output}]``)
    and its media. ``jsonl`` / ``parquet`` / ``csv``: one row per instance, ``fields`` mapping
    glc's names (id, input, reference) to the file's (dotted paths reach into JSON objects).
    Boxes (``reference: boxes``): ``box_format`` says how the references write a box,
    ``[x1, y1, x2, y2]`` (``xyxy``) or COCO's ``[x, y, width, height]`` (``xywh``);
    ``prediction_box_format`` how the task's predictions write theirs (by default as the
    references). An empty list is an image without objects.
    """

    format: Literal["general_bench", "jsonl", "parquet", "csv"]
    path: str
    fields: dict[Literal["id", "input", "reference"], str] = {}
    reference: Literal["text", "choice", "label", "labels", "number", "boxes", "image"]
    label_separator: str = ","
    box_format: Literal["xyxy", "xywh"] = "xyxy"
    prediction_box_format: Literal["xyxy", "xywh"] | None = None
    media: list[str] = []

    def predictions_box_format(self) -> str:
        """How box predictions are read: ``prediction_box_format``, by default ``box_format``."""
        return self.prediction_box_format or self.box_format


class GenerationSpec(Spec):
    """Decoding settings; part of every prediction's content key. Deterministic by default."""

    max_new_tokens: int = Field(default=32, ge=1, le=32_768)
    temperature: float = Field(default=0.0, ge=0)
    top_p: float = Field(default=1.0, gt=0, le=1)
    seed: int = 0


class RouteMatch(Spec):
    """Which tasks a route serves; an empty list matches anything."""

    modality: list[Modality] = []
    paradigm: list[Paradigm] = []
    type: list[Ident] = []
    tasks: list[Ident] = []


class RouteSpec(Spec):
    """A runner (by registry name) and its arguments, checked by the runner's own schema."""

    match: RouteMatch = RouteMatch()
    runner: Ident
    args: dict[str, Any] = {}


class InferenceSpec(Spec):
    """What a model is asked per instance and what it must give back.

    ``prompt`` is a sandboxed Jinja template over ``input`` (the instance input), ``choices``
    and ``task``; ``output`` says whether the answer is text or a generated media file;
    ``evaluator`` (optional) turns generated media into text before the metric (e.g. speech
    recognition of synthesized speech, scored by WER).
    """

    type: Ident
    prompt: str = "{{ input }}"
    choices: list[str] = []
    output: Literal["text", "image", "audio"] = "text"
    generation: GenerationSpec = GenerationSpec()
    evaluator: RouteSpec | None = None

    @field_validator("prompt")
    @classmethod
    def _prompt_is_a_template(cls, value: str) -> str:
        from glc.compiler.sandbox import shared_sandbox, template_problem

        problem = template_problem(shared_sandbox(), value)
        if problem:
            raise ValueError(problem)
        return value


class TaskSpec(Spec):
    id: Ident
    name: Name
    short_name: str | None = None
    modality: Modality
    paradigm: Paradigm
    metric: Ident
    type: Ident | None = None
    skill: Name | None = None
    sota: SotaSpec
    official: OfficialSpec | None = None
    dataset: DatasetSpec | None = None
    inference: InferenceSpec | None = None
    description: str | None = None

    @model_validator(mode="after")
    def _nlp_is_its_own_group(self) -> TaskSpec:
        if (self.modality == "nlp") != (self.paradigm == "nlp"):
            raise ValueError("modality 'nlp' goes with paradigm 'nlp' and only with it")
        return self


# --- metrics -----------------------------------------------------------------------------


class IdentityNorm(Spec):
    kind: Literal["identity"]


class SigmoidDistanceNorm(Spec):
    """100 * (2 * sigmoid(threshold / x) - 1); x = 0 gives 100."""

    kind: Literal["sigmoid_distance"]
    threshold: float = Field(gt=0)


class TanhNorm(Spec):
    """100 * tanh(x / scale)."""

    kind: Literal["tanh"]
    scale: float = Field(gt=0)


class ComplementNorm(Spec):
    """clamp(total - x, 0, 100)."""

    kind: Literal["complement"]
    total: float = 100.0


class LinearNorm(Spec):
    """clamp(100 * (x - low) / (high - low), 0, 100)."""

    kind: Literal["linear"]
    low: float
    high: float

    @model_validator(mode="after")
    def _ordered(self) -> LinearNorm:
        if self.high <= self.low:
            raise ValueError("normalization.high must be greater than normalization.low")
        return self


Normalization = Annotated[
    IdentityNorm | SigmoidDistanceNorm | TanhNorm | ComplementNorm | LinearNorm,
    Field(discriminator="kind"),
]


class RangeSpec(Spec):
    min: float | None = None
    max: float | None = None


class AnswerNormalization(Spec):
    """How text is normalized before comparison (SQuAD-style by default off)."""

    lowercase: bool = False
    strip_punctuation: bool = False
    remove_articles: bool = False
    collapse_whitespace: bool = True


class ImplementationSpec(Spec):
    """How glc computes the metric from instance rows: a SQL macro under sql/macros/metrics/.

    The macro may call registered Python UDFs (``glc_*``); the compiled SQL names them.
    ``level`` says whether the task score is a mean of instance values or a corpus statistic.
    """

    macro: SqlName
    level: Literal["instance", "corpus"]
    args: dict[str, float | int | str | bool | list[float]] = {}
    answer: AnswerNormalization = AnswerNormalization()
    max_prediction_chars: int = Field(default=100_000, ge=1)


class MetricSpec(Spec):
    name: Ident
    title: str
    direction: Literal["higher", "lower"]
    unit: Literal["percent", "score", "distance", "db", "ratio", "rating"]
    range: RangeSpec = RangeSpec()
    normalization: Normalization
    aliases: list[str] = []
    implementation: ImplementationSpec | None = None
    description: str | None = None
    #: how glc computes the metric where a choice had to be made or where it differs from the
    #: reference implementation (shown by ``glc ls metrics --details`` and docs/metrics.md)
    conventions: list[Annotated[str, Field(min_length=1, max_length=600)]] = []


# --- models ------------------------------------------------------------------------------


class ModelSpec(Spec):
    """A model glc can run: a name, a revision, and routes from tasks to runners.

    A generalist may be one runner for everything or a composition of components (first
    matching route wins). ``role: specialist`` marks Level-1 models: they are run and scored
    like any other (their scores are the measured SoTA, see ``glc sota``) but stay off the
    General-Level boards.
    """

    name: Ident
    revision: Annotated[str, Field(min_length=1, max_length=200)]
    title: str | None = None
    description: str | None = None
    role: Literal["generalist", "specialist"] = "generalist"
    routes: list[RouteSpec] = Field(min_length=1)


# --- levels and scopes -------------------------------------------------------------------


class LevelSpec(Spec):
    """A reading of the General-Level rules; the SQL templates branch on these fields."""

    name: SqlName
    title: str
    description: str
    win: Literal["at_least", "strictly_better"]
    partition: Literal["none", "modality"]
    default: bool = False


class ScopeBoard(Spec):
    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")]
    title: str
    modalities: list[Modality] = Field(min_length=1)
    paradigms: list[Paradigm] = Field(min_length=1)
    max_level: int = Field(ge=2, le=5)
    default: bool = False


class ScopeFile(Spec):
    family: Annotated[str, Field(pattern=r"^[A-Z]$")]
    description: str
    scopes: list[ScopeBoard] = Field(min_length=1)


# --- tests -------------------------------------------------------------------------------


class DataTestSpec(Spec):
    """A data test on a table; ``type`` picks the check, the other fields are its args."""

    name: SqlName
    type: Literal["unique", "not_null", "accepted_range", "relationships", "sql"]
    model: SqlName
    columns: list[str] = []
    min: float | None = None
    max: float | None = None
    to: str | None = None
    field: str | None = None
    sql: str | None = None
    severity: Literal["error", "warn"] = "error"
    description: str | None = None

    @model_validator(mode="after")
    def _args(self) -> DataTestSpec:
        need: dict[str, list[str]] = {
            "unique": ["columns"],
            "not_null": ["columns"],
            "accepted_range": ["columns"],
            "relationships": ["columns", "to", "field"],
            "sql": ["sql"],
        }
        missing = [k for k in need[self.type] if not getattr(self, k)]
        if missing:
            raise ValueError(f"a '{self.type}' test needs: {', '.join(missing)}")
        if self.type == "accepted_range" and self.min is None and self.max is None:
            raise ValueError("an 'accepted_range' test needs min, max or both")
        return self


class UnitTestExpect(Spec):
    where: dict[str, Any] = {}
    rows: list[dict[str, Any]]


class UnitTestSpec(Spec):
    """Given rows for source tables, the rows a SQL model must produce."""

    name: SqlName
    model: SqlName
    description: str | None = None
    given: dict[str, list[dict[str, Any]]]
    expect: UnitTestExpect
    tolerance: float = 1e-9


class TestFile(Spec):
    data_tests: list[DataTestSpec] = []
    unit_tests: list[UnitTestSpec] = []


class BootstrapSpec(Spec):
    """Bootstrap confidence intervals of Level scores: instances resampled within tasks."""

    replicates: int = Field(default=100, ge=2, le=100_000)
    seed: int = 0
    confidence: float = Field(default=0.95, gt=0, lt=1)


class BenchmarkSpec(Spec):
    """One benchmark of the project: a set of task folders under ``specs/tasks/``.

    Levels, scopes and metrics are shared; the task set (and with it every denominator of
    the level formulas) is the benchmark's. ``default: true`` marks the one ``glc`` uses when
    neither ``--benchmark`` nor ``$GLC_BENCHMARK`` names another.
    """

    name: Ident
    title: str
    version: str
    description: str | None = None
    tasks: list[Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-/]*$")]] = []
    default: bool = False
    bootstrap: BootstrapSpec = BootstrapSpec()
