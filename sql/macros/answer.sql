{#- Answer normalization declared by a metric spec (`implementation.answer`), applied in the
    SQuAD order: lower-case, drop ASCII punctuation, drop articles, collapse whitespace. -#}
{% macro normalize_answer(x, answer) -%}
{%- set e = x -%}
{%- if answer.lowercase %}{% set e = 'LOWER(' ~ e ~ ')' %}{% endif -%}
{%- if answer.strip_punctuation %}{% set e = "REGEXP_REPLACE(" ~ e ~ ", '[!-/:-@\\[-`{-~]', '', 'g')" %}{% endif -%}
{%- if answer.remove_articles and answer.collapse_whitespace -%}
{#- one pass: a run of whitespace and articles becomes one space, as removing the articles and
    then collapsing whitespace would do -#}
{%- set e = "TRIM(REGEXP_REPLACE(" ~ e ~ ", '(?:\\s|\\b(?:a|an|the)\\b)+', ' ', 'g'))" -%}
{%- else -%}
{%- if answer.remove_articles %}{% set e = "REGEXP_REPLACE(" ~ e ~ ", '\\b(a|an|the)\\b', ' ', 'g')" %}{% endif -%}
{%- if answer.collapse_whitespace %}{% set e = "TRIM(REGEXP_REPLACE(" ~ e ~ ", '\\s+', ' ', 'g'))" %}{% endif -%}
{%- endif -%}
{{ e }}
{%- endmacro %}

{#- The option letter a multiple-choice answer gives, by the first rule that applies:
    1. the answer is a letter, alone or followed by ".", ")", ":" or ",": "B", "(b)", "A. cat";
    2. "answer is B" / "answer: B" (any case);
    3. a letter in parentheses anywhere: "I pick (C) here";
    4. a capital letter ending the answer: "I think it is B.";
    5. the first capital letter followed by ".", ")", ":" or ",".
    A bare "I" in prose is not taken for option I. -#}
{% macro choice_letter(x) -%}
UPPER(COALESCE(
  NULLIF(REGEXP_EXTRACT({{ x }}, '^\s*\(?([A-Za-z])(?:[\.\):,]|\)?\s*$)', 1), ''),
  NULLIF(REGEXP_EXTRACT({{ x }}, '(?i)answer\s*(?:is|:)?\s*\(?([A-Za-z])(?:[\.\):,]|\s|$)', 1), ''),
  NULLIF(REGEXP_EXTRACT({{ x }}, '\(([A-Za-z])\)', 1), ''),
  NULLIF(REGEXP_EXTRACT({{ x }}, '\b([A-Z])[\.\)]?\s*$', 1), ''),
  NULLIF(REGEXP_EXTRACT({{ x }}, '\b([A-Z])[\.\):,]', 1), '')
))
{%- endmacro %}

{#- The first number in a text (NULL when there is none). -#}
{% macro first_number(x) -%}
TRY_CAST(NULLIF(REGEXP_EXTRACT({{ x }}, '-?[0-9]+(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?', 0), '') AS DOUBLE)
{%- endmacro %}

{#- Whitespace tokens of a text (empty tokens dropped). -#}
{% macro words(x) -%}
LIST_FILTER(STRING_SPLIT({{ x }}, ' '), t -> t <> '')
{%- endmacro %}

{#- How many items two token lists share, counting repeats (multiset intersection size). -#}
{% macro common(p, g) -%}
COALESCE(LIST_SUM(LIST_TRANSFORM(LIST_DISTINCT({{ p }}), w -> LEAST(LEN(LIST_FILTER({{ p }}, x -> x = w)), LEN(LIST_FILTER({{ g }}, x -> x = w))))), 0)
{%- endmacro %}

{#- Multiset overlap of a token list with a reference histogram (MAP token -> count, prepared
    once per reference): sum over the list's distinct tokens of min(count here, count there).
    `keys` / `counts` are the list's own histogram as two lists. ~25 % cheaper than `common`. -#}
{% macro hist_overlap(keys, counts, h) -%}
COALESCE(LIST_SUM(LIST_TRANSFORM({{ keys }}, (w, i) -> LEAST({{ counts }}[i], COALESCE({{ h }}[w], 0)))), 0)
{%- endmacro %}

{#- A token list's histogram as (keys, counts) columns named <name>_keys and <name>_counts. -#}
{% macro histogram_columns(tokens, name) -%}
MAP_KEYS(LIST_AGGREGATE({{ tokens }}, 'histogram')) AS {{ name }}_keys,
MAP_VALUES(LIST_AGGREGATE({{ tokens }}, 'histogram')) AS {{ name }}_counts
{%- endmacro %}

{#- F1 of two token lists from their overlap: 2 * common / (|p| + |g|), 0 when either is empty.
    `overlap` appears once: it is the expensive part. -#}
{% macro overlap_f1(overlap, p, g) -%}
CASE WHEN LEN({{ p }}) = 0 OR LEN({{ g }}) = 0 THEN 0.0
     ELSE 2.0 * {{ overlap }} / (LEN({{ p }}) + LEN({{ g }})) END
{%- endmacro %}

{#- mteval-v13a tokenization (WMT; sacrebleu's "13a"), case-sensitive. -#}
{% macro tokenize_13a(x) -%}
LIST_FILTER(STRING_SPLIT(
  REGEXP_REPLACE(REGEXP_REPLACE(REGEXP_REPLACE(REGEXP_REPLACE(
    ' ' || REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(
      {{ x }}, '<skipped>', ''), '-' || CHR(10), ''), CHR(10), ' '),
      '&quot;', '"'), '&amp;', '&'), '&lt;', '<'), '&gt;', '>') || ' ',
    '([\{-\~\[-\` -\&\(-\+\:-\@\/])', ' \1 ', 'g'),
    '([^0-9])([\.,])', '\1 \2 ', 'g'),
    '([\.,])([^0-9])', ' \1 \2', 'g'),
    '([0-9])(-)', '\1 \2 ', 'g'),
  ' '), t -> t <> '')
{%- endmacro %}

{#- ROUGE tokens, space-joined: lower-case; each CJK character is a token, other runs of letters
    and digits are tokens (rouge_score keeps only [a-z0-9] and so drops CJK and accented text).
    Written as two regex replacements, not REGEXP_EXTRACT_ALL: the same tokens, ~6x faster. -#}
{% macro rouge_text(x) -%}
TRIM(REGEXP_REPLACE(REGEXP_REPLACE(LOWER({{ x }}), '([\p{Han}\p{Hiragana}\p{Katakana}\p{Hangul}])', ' \1 ', 'g'), '[^\p{L}\p{N}]+', ' ', 'g'))
{%- endmacro %}

{#- The same tokens as a list. -#}
{% macro rouge_tokens(x) -%}
LIST_FILTER(STRING_SPLIT({{ rouge_text(x) }}, ' '), t -> t <> '')
{%- endmacro %}
