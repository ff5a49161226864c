"""Specs as written: pydantic models, frozen, unknown keys rejected.

These mirror the YAML files under ``specs/`` one to one. Cross-file references (a task's
metric, a unit test's level) are plain names here; ``resolve`` binds them.
"""

# no ``from __future__ import annotations``: pydantic would compile each field's annotation string
# (a third of the time it takes to define the spec classes, paid by every command)
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

Modality = Literal["image", "video", "audio", "3d", "nlp"]
Paradigm = Literal["comprehension", "generation", "nlp"]
Name = Annotated[str, Field(min_length=1, max_length=200)]
Ident = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_.\-]*$", max_length=200)]
SqlName = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=60)]


class Spec(BaseModel):
    # defer_build: a class's validator and serializer are built when first used, not when this module
    # is imported (about 0.15 s for every spec class): a command served by the compile cache restores
    # specs without validating them (glc.compiler.project_cache) and builds only what it then uses
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


# validation context of specs that passed every check before (``model_validate(data, context=CHECKED)``):
# the costly checks (prompt templates) are not run again. (The compile cache does not validate what it
# reads back at all: glc.compiler.project_cache._construct.)
CHECKED = {"checked": True}


def checked(info: ValidationInfo) -> bool:
    return isinstance(info.context, dict) and info.context.get("checked") is True


# --- tasks -------------------------------------------------------------------------------


class SotaSpec(Spec):
    """The specialist SoTA (Level-1) of a task: its raw metric value and where it comes from.

    A task whose SoTA is not known yet says ``sota: null``: it is run and scored, flagged, and
    left out of every level (wins and denominators) until one is recorded (``glc sota record``).
    """

    value: float
    source: str = "unspecified"
    model: str | None = None


class OfficialSpec(Spec):
    """How the task appears in the official score workbook (join keys, byte-exact)."""

    sheet: Name
    no: int | None = None
    metric: Name


RefKind = Literal["text", "choice", "label", "labels", "number", "boxes", "image", "audio", "video", "pointcloud"]
OutputKind = Literal["text", "image", "audio", "video", "pointcloud"]


class DatasetSpec(Spec):
    """Where a task's instances come from and how its reference is read.

    ``general_bench``: a task folder holding ``annotation.json`` (``data: [{id, input, output}]``)
    and its media. ``jsonl`` / ``parquet`` / ``csv``: one row per instance, ``fields`` mapping
    glc's names (id, input, reference) to the file's (dotted paths reach into JSON objects).
    ``reference_fields`` lists alternatives (the first one a record has is its reference);
    ``optional_media`` are media fields used when a record has them; ``options_field`` names the
    list of option texts of a multiple-choice instance (an answer may then be the option text).
    A ``general_bench`` task whose records have no reference at all is a Close Set task: it is run
    but not scored.
    Boxes (``reference: boxes``): ``box_format`` says how the references write a box,
    ``[x1, y1, x2, y2]`` (``xyxy``) or COCO's ``[x, y, width, height]`` (``xywh``);
    ``prediction_box_format`` how the task's predictions write theirs (by default as the
    references). An empty list is an image without objects.
    """

    format: Literal["general_bench", "jsonl", "parquet", "csv"]
    path: str
    fields: dict[Literal["id", "input", "reference"], str] = {}
    reference_fields: list[str] = []
    reference: RefKind
    label_separator: str = ","
    labels_in_order: bool = False  # labels: a sequence (events in order, repeats kept), not a sorted set
    box_format: Literal["xyxy", "xywh"] = "xyxy"
    prediction_box_format: Literal["xyxy", "xywh"] | None = None
    media: list[str] = []
    optional_media: list[str] = []
    options_field: str | None = None

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

    match: RouteMatch = Field(default_factory=RouteMatch)  # (a factory: no class is built on import)
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
    output: OutputKind = "text"
    generation: GenerationSpec = Field(default_factory=GenerationSpec)
    evaluator: RouteSpec | None = None

    @field_validator("prompt")
    @classmethod
    def _prompt_is_a_template(cls, value: str, info: ValidationInfo) -> str:
        if checked(info):
            return value
        from glc.compiler.sandbox import shared_sandbox, template_problem

        problem = template_problem(shared_sandbox(), value)
        if problem:
            raise ValueError(problem)
        return value


class TypeReference(Spec):
    """Where a task type's reference sits in a General-Bench record and what kind it is."""

    kind: RefKind
    fields: list[str] = Field(min_length=1)
    box_format: Literal["xyxy", "xywh"] = "xyxy"
    label_separator: str = ","


class OtherReference(Spec):
    """Another reference a record of the type may hold, for metrics that cannot read the type's
    own ``reference`` (success rate compares labels a detector sees in a generated video with
    the record's labels, not with the reference video): its kind, the record fields holding it
    (the first a record has), and the evaluator route that reads the generated output for it."""

    kind: Literal["text", "label", "labels", "number"]
    fields: list[str] = Field(min_length=1)
    label_separator: str = ","
    in_order: bool = False  # labels: a sequence (E-Acc's events), kept in the record's order with repeats
    evaluator: RouteSpec | None = None


class TaskTypeParts(Spec):
    """The parts of a task type a task spec may override (``overrides:``); all optional.
    ``other_references``: see ``OtherReference``; a task whose metric cannot read ``reference``
    binds the first of them whose kind it reads, with its evaluator."""

    prompt: str | None = None
    output: OutputKind | None = None
    reference: TypeReference | None = None
    media: list[str] | None = None
    options_field: str | None = None
    generation: GenerationSpec | None = None
    evaluator: RouteSpec | None = None
    other_references: list[OtherReference] | None = None

    @field_validator("prompt")
    @classmethod
    def _prompt_is_a_template(cls, value: str | None, info: ValidationInfo) -> str | None:
        if checked(info):
            return value
        from glc.compiler.sandbox import shared_sandbox, template_problem

        problem = template_problem(shared_sandbox(), value) if value is not None else None
        if problem:
            raise ValueError(problem)
        return value


class TaskTypeSpec(TaskTypeParts):
    """How the tasks of one General-Bench ``type`` are run and read (``specs/task_types/``).

    ``prompt`` renders the record's ``input`` dict (sandboxed Jinja; ``input``, ``task``);
    ``output`` is what the model must give: text (parsed by the metric as a choice letter, a
    label list, a number, boxes or free text, per ``answer``) or a generated media file;
    ``reference`` says where the reference sits in the record and its kind; ``media`` lists
    the record fields that may hold media paths (used when present). ``aliases`` are other
    names the ``type`` field of annotation.json may use for this type.
    """

    name: Ident
    title: str
    description: str | None = None
    aliases: list[str] = []
    answer: Literal["text", "choice", "labels", "number", "boxes", "media"]
    prompt: str
    output: OutputKind
    reference: TypeReference


class TaskSpec(Spec):
    id: Ident
    name: Name
    short_name: str | None = None
    modality: Modality
    paradigm: Paradigm
    metric: Ident
    type: Ident | None = None
    skill: Name | None = None
    overrides: TaskTypeParts | None = None
    sota: SotaSpec | None  # required; null: no SoTA yet (see SotaSpec)
    official: OfficialSpec | None = None
    dataset: DatasetSpec | None = None
    inference: InferenceSpec | None = None
    description: str | None = None

    @model_validator(mode="after")
    def _nlp_is_its_own_group(self) -> "TaskSpec":
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
    def _ordered(self) -> "LinearNorm":
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
    answer: AnswerNormalization = Field(default_factory=AnswerNormalization)
    max_prediction_chars: int = Field(default=100_000, ge=1)
    #: what a task's evaluator must read from the generated media for this metric (e.g. the labels a
    #: detector sees per frame); when set, the metric scores the evaluator's reading only, and a task
    #: without ``inference.evaluator`` is not scored and says what it needs (glc compile, run, ls tasks)
    evaluator: str | None = Field(default=None, min_length=1, max_length=400)


class MetricEvaluator(Spec):
    """A learned model (or a judge) the metric needs: the user configures it in profiles.yml
    (``evaluators: {<name>: {path: ...}}`` or a whole route); without it the metric's tasks
    are not scorable from predictions.

    ``reads``: ``features`` (a feature vector of the generated file and one of the reference, the
    metric's math runs in SQL over them), ``score`` (the evaluator gives a number per generated
    output: a quality model, or an LLM judge asked ``prompt``) or ``labels`` (a recognizer names
    what it hears in each fixed segment of ``segment_s`` seconds of the generated audio, its
    ``top_k`` most likely labels per segment: a JSON list with one list of labels per segment,
    compared with the record's labels by the metric's macro). ``reference``: what the
    reference-side vector embeds: the reference ``media`` file, the instance's ``prompt`` text,
    or ``none``. ``needs`` says which weights, in words (shown by ``glc ls``). ``prompt``
    (``reads: score``, optional): the judge's sandboxed Jinja template over ``input``,
    ``prediction``, ``reference`` and ``task``; the first number of its answer is the score; a
    generated image, video or audio goes along as an attachment. ``estimates_human``: the
    metric is a human rating and the judge only estimates it (listings say so).
    """

    name: Ident
    reads: Literal["features", "score", "labels"]
    reference: Literal["media", "prompt", "none"] = "none"
    needs: Annotated[str, Field(min_length=1, max_length=400)]
    prompt: str | None = None
    estimates_human: bool = False  # a judge estimating a human rating (MOS, user preference): said wherever shown
    segment_s: float | None = Field(default=None, gt=0, le=600)  # reads: labels: seconds of audio per reading
    top_k: int = Field(default=1, ge=1, le=100)  # reads: labels: labels named per segment

    @field_validator("prompt")
    @classmethod
    def _prompt_is_a_template(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None or checked(info):
            return value
        from glc.compiler.sandbox import shared_sandbox, template_problem

        problem = template_problem(shared_sandbox(), value)
        if problem:
            raise ValueError(problem)
        return value

    @model_validator(mode="after")
    def _consistent(self) -> "MetricEvaluator":
        if self.reads == "features" and self.reference == "none":
            raise ValueError("an evaluator that reads features compares them with a reference: "
                             "set reference to media or prompt")
        if self.prompt is not None and self.reads != "score":
            raise ValueError("a judge prompt goes with reads: score")
        if self.reads == "labels" and (self.segment_s is None or self.reference != "none"):
            raise ValueError("an evaluator that reads labels names them per segment of the generated audio, "
                             "compared with the record's labels: set segment_s (seconds) and no reference")
        if self.reads != "labels" and (self.segment_s is not None or self.top_k != 1):
            raise ValueError("segment_s and top_k go with reads: labels")
        return self


class MetricSpec(Spec):
    name: Ident
    title: str
    direction: Literal["higher", "lower"]
    unit: Literal["percent", "score", "distance", "db", "ratio", "rating"]
    range: RangeSpec = Field(default_factory=RangeSpec)
    normalization: Normalization
    aliases: list[str] = []
    implementation: ImplementationSpec | None = None
    #: the learned model or judge whose readings the implementation scores (see MetricEvaluator)
    evaluator: MetricEvaluator | None = None
    description: str | None = None
    #: how glc computes the metric where a choice had to be made or where it differs from the
    #: reference implementation (shown by ``glc ls metrics --details`` and docs/metrics.md)
    conventions: list[Annotated[str, Field(min_length=1, max_length=600)]] = []

    @model_validator(mode="after")
    def _evaluator_needs_an_implementation(self) -> "MetricSpec":
        if self.evaluator is not None and self.implementation is None:
            raise ValueError("an evaluator's readings are scored by an implementation: add implementation: "
                             "(e.g. macro: frechet, feature_cosine or evaluator_score)")
        return self


# --- models ------------------------------------------------------------------------------


class ModelSpec(Spec):
    """A model glc can run: a name, a revision, and routes from tasks to runners.

    A generalist may be one runner for everything or a composition of components (first
    matching route wins). ``role: specialist`` marks Level-1 models: they are run and scored
    like any other (their scores are the measured SoTA, see ``glc sota``) but stay off the
    General-Level boards. ``missing_route`` says what a task no route serves means: ``zero``
    (the General-Level rule: not attempted, sigma 0, still in every denominator) or ``error``
    (``glc run`` refuses before inference and lists those tasks).
    """

    name: Ident
    revision: Annotated[str, Field(min_length=1, max_length=200)]
    title: str | None = None
    description: str | None = None
    role: Literal["generalist", "specialist"] = "generalist"
    missing_route: Literal["zero", "error"] = "zero"
    routes: list[RouteSpec] = Field(min_length=1)


# --- levels and scopes -------------------------------------------------------------------


class VariantSpec(Spec):
    """A reading of the General-Level rules; the SQL templates branch on these fields."""

    name: SqlName
    title: str
    description: str
    win: Literal["at_least", "strictly_better"]
    # how Levels 2-4 group tasks: the whole scope at once, or each modality then averaged
    # (spec key ``partition`` before; still read, with a deprecation warning: compiler/loader.py)
    group_by: Literal["none", "modality"]
    default: bool = False


SplitField = Literal["modality", "paradigm", "skill", "type"]


class ScopeEntry(Spec):
    """One scope of a family file: the tasks whose modality and paradigm are listed, the levels defined on them.

    ``task_list``: a file inside the project naming the scope's task ids, one a line (``#``
    comments); the scope holds only those (each must also match modalities and paradigms).
    ``benchmarks``: the scope exists only while one of these benchmarks is active (a task list
    names one benchmark's tasks). ``split_by``: the entry is a template, expanded into one scope
    per distinct value (combination) of these task fields among its tasks, named
    ``<name>-<value>-...`` (values lower-cased, other characters -> ``-``); a task without a
    skill or type counts as ``other``.
    """

    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")]
    title: str
    modalities: list[Modality] = Field(min_length=1)
    paradigms: list[Paradigm] = Field(min_length=1)
    max_level: int = Field(ge=2, le=5)
    default: bool = False
    split_by: list[SplitField] = []
    task_list: Annotated[str, Field(min_length=1, max_length=500)] | None = None
    benchmarks: list[Ident] = []

    @model_validator(mode="after")
    def _default_is_plain(self) -> "ScopeEntry":
        if self.default and (self.split_by or self.benchmarks):
            raise ValueError("the default scope is one board for every benchmark: "
                             "it takes neither split_by nor benchmarks")
        if len(set(self.split_by)) != len(self.split_by):
            raise ValueError("split_by names a field twice")
        return self


class ScopeFile(Spec):
    family: Annotated[str, Field(pattern=r"^[A-Z]$")]
    description: str
    scopes: list[ScopeEntry] = Field(min_length=1)


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
    def _args(self) -> "DataTestSpec":
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
    """Given rows for source tables, the rows a SQL node must produce."""

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


class BenchmarkDataSpec(Spec):
    """How the benchmark's tasks find their data: a download laid out as ``layout`` says.

    The folder itself is the user's setting (``benchmark_data:`` in profiles.yml, ``--data DIR``
    or ``$GLC_DATA``), never the spec's. ``folder_aliases`` maps a task id to its folder
    (relative to the data root) where the folder's name differs from the task's by more than
    case, spacing or punctuation.
    """

    layout: Literal["general_bench"]
    folder_aliases: dict[Ident, Annotated[str, Field(pattern=r"^[^/\\.][^\\]*$", max_length=400)]] = {}


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
    bootstrap: BootstrapSpec = Field(default_factory=BootstrapSpec)
    data: BenchmarkDataSpec | None = None
