{% from 'macros/answer.sql' import tokenize_13a, words %}
{#- Corpus BLEU (Papineni et al. 2002) with mteval-v13a tokens, case-sensitive, no smoothing.
    Per instance, stats is STRUCT(matches_1 .. matches_N, totals_1 .. totals_N, hyp_len, ref_len),
    all DOUBLE: matches_n counts hypothesis n-grams clipped by their largest count in any
    reference, totals_n the hypothesis n-grams, hyp_len the hypothesis tokens and ref_len the
    tokens of the reference closest in length.
    Task score: 100 * BP * exp(mean_n ln(sum matches_n / sum totals_n)), BP = exp(1 - r / c)
    when c <= r; 0 when some order has no match. -#}
{% macro ngrams(t, n) -%}
{%- if n == 1 %}{{ t }}{% else %}LIST_TRANSFORM(RANGE(1, LEN({{ t }}) - {{ n - 2 }}), i -> ARRAY_TO_STRING({{ t }}[i:i + {{ n - 1 }}], ' ')){% endif -%}
{%- endmacro %}
{#- Each reference's 13a tokens, on its own row (instance_refs: a regular expression inside a list
    lambda is compiled again for every list). -#}
{% macro prepare_ref(r, args, answer) %}{{ tokenize_13a(r) }}{% endmacro %}
{#- The references' tokens: ref_prepared, which is NULL for an instance without reference texts
    (then [] for an empty list of references, NULL for NULL ones, as LIST_TRANSFORM gives; no
    CASE: the expression is used several times). -#}
{% macro ref_token_lists() -%}
COALESCE(p.ref_prepared, LIST_TRANSFORM(i.ref_texts, r -> CAST([] AS VARCHAR[])))
{%- endmacro %}
{#- Per order k, the n-grams of any reference with their largest count in any reference: those
    whose largest count is 1 (ref_once_k, a list of n-grams) and the others (ref_repeated_k,
    STRUCT(key, value): the n-gram and its largest count). N-grams hold no newline (13a tokens
    hold no whitespace), so the references' n-grams are listed together by joining and
    splitting at newlines (sorted: the distinct ones come in hash order). -#}
{% set NL = '\n' | sql_literal %}
{% macro largest_counts(k) -%}
LIST_TRANSFORM(
  LIST_SORT(LIST_DISTINCT(LIST_FILTER(STRING_SPLIT(ARRAY_TO_STRING(LIST_TRANSFORM({{ ref_token_lists() }},
    rt -> ARRAY_TO_STRING({{ ngrams('rt', k) }}, {{ NL }})), {{ NL }}), {{ NL }}), x -> x <> ''))),
  w -> {'key': w, 'value': LIST_MAX(LIST_TRANSFORM({{ ref_token_lists() }}, rt -> LEN(LIST_FILTER({{ ngrams('rt', k) }}, x -> x = w))))})
{%- endmacro %}
{% macro prepare_refs(args, answer) -%}
{%- set n = args.max_order | int -%}
{{ ref_token_lists() }} AS ref_tokens,
LIST_TRANSFORM({{ ref_token_lists() }}, rt -> LEN(rt)) AS ref_lens
{%- for k in range(1, n + 1) %},
LIST_TRANSFORM(LIST_FILTER({{ largest_counts(k) }}, e -> e.value = 1), e -> e.key) AS ref_once_{{ k }},
LIST_FILTER({{ largest_counts(k) }}, e -> e.value > 1) AS ref_repeated_{{ k }}
{%- endfor %}
{%- endmacro %}
{% macro prepare(o, args, answer) -%}
{{ tokenize_13a(o) }} AS hyp
{%- endmacro %}
{% macro value(o, args, answer) %}CAST(NULL AS DOUBLE){% endmacro %}
{#- The clipped n-gram matches: the sum over the references' n-grams of the smaller of their
    count in the hypothesis and their largest count in any reference (the hypothesis' other
    n-grams match nothing), looking the n-grams that references hold once up in the hypothesis'
    list, which costs a small part of building the hypothesis' histogram and reading every
    reference's map for each of its entries (the same numbers). -#}
{% macro clipped(k) -%}
(COALESCE(LEN(LIST_FILTER(ref_once_{{ k }}, w -> LIST_CONTAINS({{ ngrams('hyp', k) }}, w))), 0)
 + COALESCE(LIST_SUM(LIST_TRANSFORM(ref_repeated_{{ k }}, e -> LEAST(e.value, LEN(LIST_FILTER({{ ngrams('hyp', k) }}, t -> t = e.key))))), 0))
{%- endmacro %}
{#- matches_n: each distinct hypothesis n-gram counts min(its count, its largest count in any
    reference); the references' n-grams and largest counts are prepared once per instance. A hypothesis whose
    tokens are a reference's matches all its n-grams (matches_n = totals_n) and that reference is
    the closest in length (ref_len = hyp_len): the same numbers without the histograms, which
    cost most. With one reference, it is the closest (no sort of the lengths). -#}
{% macro stats(o, args, answer) -%}
{%- set n = args.max_order | int -%}
CASE WHEN LIST_CONTAINS(ref_tokens, hyp) THEN {
{%- for k in range(1, n + 1) %}
  'matches_{{ k }}': CAST(GREATEST(LEN(hyp) - {{ k - 1 }}, 0) AS DOUBLE),
{%- endfor %}
{%- for k in range(1, n + 1) %}
  'totals_{{ k }}': CAST(GREATEST(LEN(hyp) - {{ k - 1 }}, 0) AS DOUBLE),
{%- endfor %}
  'hyp_len': CAST(LEN(hyp) AS DOUBLE),
  'ref_len': CAST(LEN(hyp) AS DOUBLE)
} ELSE {
{%- for k in range(1, n + 1) %}
  'matches_{{ k }}': CAST({{ clipped(k) }} AS DOUBLE),
{%- endfor %}
{%- for k in range(1, n + 1) %}
  'totals_{{ k }}': CAST(GREATEST(LEN(hyp) - {{ k - 1 }}, 0) AS DOUBLE),
{%- endfor %}
  'hyp_len': CAST(LEN(hyp) AS DOUBLE),
  'ref_len': CAST(CASE WHEN LEN(ref_lens) = 1 THEN ref_lens[1]
                      ELSE LIST_SORT(LIST_TRANSFORM(ref_lens, l -> [ABS(l - LEN(hyp)), l]))[1][2] END AS DOUBLE)
} END
{%- endmacro %}
{% macro payload(o, args, answer) %}CAST(NULL AS VARCHAR){% endmacro %}
{#- The task sums of the fields of the instances' stats. -#}
{% macro matches(k) %}SUM(stats.matches_{{ k }}){% endmacro %}
{% macro totals(k) %}SUM(stats.totals_{{ k }}){% endmacro %}
{% macro hyp_len() %}SUM(stats.hyp_len){% endmacro %}
{% macro ref_len() %}SUM(stats.ref_len){% endmacro %}
{% macro aggregate(args) -%}
{%- set n = args.max_order | int -%}
CASE
  WHEN {{ hyp_len() }} = 0 {% for k in range(1, n + 1) %}OR {{ matches(k) }} = 0 {% endfor %}THEN 0.0
  ELSE 100.0 * (CASE WHEN {{ hyp_len() }} > {{ ref_len() }} THEN 1.0
                     ELSE EXP(1 - {{ ref_len() }} / {{ hyp_len() }}) END)
       * EXP(({% for k in range(1, n + 1) %}LN({{ matches(k) }} / {{ totals(k) }}){% if not loop.last %} + {% endif %}{% endfor %}) / {{ n }})
END
{%- endmacro %}
{#- The reference kinds (instances.ref_kind) this metric can score; instances of other kinds are left out. -#}
{% set references = ['text'] %}
