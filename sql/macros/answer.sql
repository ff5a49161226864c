{#- Character classes (bodies of RE2 [...] classes) for rules that must split, strip and
    match exactly as the Python reference implementations do. DuckDB's regex \s is only
    [\t\n\f\r ], its \b only ASCII-aware, and TRIM() strips category Zs but not \t or \n. -#}

{#- Python's whitespace: what str.split(), str.strip() and re's \s (on str) take for space:
    \t \n \v \f \r, the separators U+001C..U+001F, U+0085, category Zs (U+0020, U+00A0,
    U+1680, U+2000..U+200A, U+202F, U+205F, U+3000), U+2028 and U+2029. Not U+200B, U+180E
    or U+FEFF. -#}
{% macro PY_SPACE() %}\x{9}-\x{d}\x{1c}-\x{20}\x{85}\x{a0}\x{1680}\x{2000}-\x{200a}\x{2028}\x{2029}\x{202f}\x{205f}\x{3000}{% endmacro %}

{#- Python's word characters (re's \w and \b on str: str.isalnum() or "_"): letters, numbers
    (categories L*, N*) and the underscore. Combining marks are not word characters, so
    Python sees a word boundary between "a" and U+0301. The regex engine's Unicode tables
    (15.x) hold the same characters as Python 3.11's (14.0) plus those assigned since. -#}
{% macro PY_WORD() %}\p{L}\p{N}_{% endmacro %}

{#- Characters whose str.upper() is two (PY_UPPER_2) or three (PY_UPPER_3) characters long
    (ß -> SS, ﬃ -> FFI, ΐ -> Ϊ́); the ANLS reference measures lengths after upper(). -#}
{% macro PY_UPPER_2() %}\x{df}\x{149}\x{1f0}\x{587}\x{1e96}-\x{1e9a}\x{1f50}\x{1f80}-\x{1faf}\x{1fb2}-\x{1fb4}\x{1fb6}\x{1fbc}\x{1fc2}-\x{1fc4}\x{1fc6}\x{1fcc}\x{1fd6}\x{1fe4}\x{1fe6}\x{1ff2}-\x{1ff4}\x{1ff6}\x{1ffc}\x{fb00}-\x{fb02}\x{fb05}-\x{fb06}\x{fb13}-\x{fb17}{% endmacro %}
{% macro PY_UPPER_3() %}\x{390}\x{3b0}\x{1f52}\x{1f54}\x{1f56}\x{1fb7}\x{1fc7}\x{1fd2}-\x{1fd3}\x{1fd7}\x{1fe2}-\x{1fe3}\x{1fe7}\x{1ff7}\x{fb03}-\x{fb04}{% endmacro %}

{#- Scripts written without spaces between words, whose characters are ROUGE tokens of their
    own and stand next to an option letter without joining it. -#}
{% macro CJK() %}\p{Han}\p{Hiragana}\p{Katakana}\p{Hangul}{% endmacro %}

{#- Python's case context for the final sigma (str.lower()): cased characters that are not
    case-ignorable (CASED_ONLY: Lu, Ll, Lt and the Other_Lowercase/Other_Uppercase symbols ª º
    Ⅰ..ⅿ Ⓐ..ⓩ 🄰..🆉) and case-ignorable ones (CASE_IGNORABLE: Mn, Me, Cf, Lm, Sk and the
    word-break apostrophes, full stops and colons). tests/test_metric_truth.py checks both
    against Python on every assigned character. -#}
{% macro CASED_ONLY() %}\p{Lu}\p{Ll}\p{Lt}\x{aa}\x{ba}\x{2160}-\x{217f}\x{24b6}-\x{24e9}\x{1f130}-\x{1f149}\x{1f150}-\x{1f169}\x{1f170}-\x{1f189}{% endmacro %}
{% macro CASE_IGNORABLE() %}\p{Mn}\p{Me}\p{Cf}\p{Lm}\p{Sk}'.:\x{b7}\x{387}\x{55f}\x{5f4}\x{2018}\x{2019}\x{2024}\x{2027}\x{fe13}\x{fe52}\x{fe55}\x{ff07}\x{ff0e}\x{ff1a}{% endmacro %}

{#- str.lower(). DuckDB's LOWER() agrees with Python on every character but two: U+0130 (İ,
    Python: "i" + U+0307) and the capital sigma, which Python writes as the final sigma ς where
    a cased character precedes it and none follows it (case-ignorable characters skipped on
    both sides). Only texts holding either take the longer way. -#}
{% macro py_lower(x) -%}
{%- set final_sigma = '([' ~ CASED_ONLY() ~ '])([' ~ CASE_IGNORABLE() ~ ']*)Σ([' ~ CASE_IGNORABLE() ~ ']*)([^'
                      ~ CASED_ONLY() ~ CASE_IGNORABLE() ~ ']|$)' -%}
LOWER(REPLACE(REGEXP_REPLACE({{ x }}, {{ final_sigma | sql_literal }}, '\1\2ς\3\4', 'g'), 'İ', 'i̇'))
{%- endmacro %}

{#- Python whitespace other than the space character (most texts hold none: each rule below
    turns it into spaces with one scan that rarely matches, then works on spaces, which is
    several times faster than replacing every run of whitespace). -#}
{% macro PY_SPACE_NOT_SP() %}\x{9}-\x{d}\x{1c}-\x{1f}\x{85}\x{a0}\x{1680}\x{2000}-\x{200a}\x{2028}\x{2029}\x{202f}\x{205f}\x{3000}{% endmacro %}

{#- x with every Python whitespace character made a space. -#}
{% macro py_spaces(x) -%}
REGEXP_REPLACE({{ x }}, {{ ('[' ~ PY_SPACE_NOT_SP() ~ ']') | sql_literal }}, ' ', 'g')
{%- endmacro %}

{#- ' '.join(x.split()): runs of Python whitespace become one space, none at either end: one
    replacement of what is not a single space (two or more whitespace characters, or one that
    is not the space), which matches rarely; then TRIM(), whose own set (Zs) strips just the
    spaces that remain, and faster than TRIM(x, ' '). -#}
{% macro py_collapse(x) -%}
TRIM(REGEXP_REPLACE({{ x }}, {{ ('[' ~ PY_SPACE() ~ '][' ~ PY_SPACE() ~ ']+|[' ~ PY_SPACE_NOT_SP() ~ ']') | sql_literal }}, ' ', 'g'))
{%- endmacro %}

{#- x.rstrip(): trailing Python whitespace removed. (No CASE in the macros a metric's column
    is made of: DuckDB does not share a common subexpression that holds a CASE, so a column
    used several times would be computed each time: 13a tokens took 2.6x as long.) -#}
{% macro py_rstrip(x) -%}
REGEXP_REPLACE({{ x }}, {{ ('[' ~ PY_SPACE() ~ ']+$') | sql_literal }}, '')
{%- endmacro %}

{#- len(x.upper()) in characters. -#}
{% macro py_upper_length(x) -%}
LENGTH({{ x }}) + LENGTH(REGEXP_REPLACE({{ x }}, {{ ('[^' ~ PY_UPPER_2() ~ PY_UPPER_3() ~ ']+') | sql_literal }}, '', 'g'))
  + LENGTH(REGEXP_REPLACE({{ x }}, {{ ('[^' ~ PY_UPPER_3() ~ ']+') | sql_literal }}, '', 'g'))
{%- endmacro %}

{#- Answer normalization declared by a metric spec (`implementation.answer`), step by step as
    SQuAD 2.0's normalize_answer: lower-case (str.lower()), drop ASCII punctuation
    (string.punctuation), replace the articles a, an, the by a space where they are whole
    words (Python's re \b(a|an|the)\b on str: word characters are PY_WORD), collapse Python
    whitespace. Article removal runs twice: a match consumes the character after the article,
    which is the character before the next one in "a an the". -#}
{% macro normalize_answer(x, answer) -%}
{%- set e = x -%}
{%- set article = '(^|[^' ~ PY_WORD() ~ '])(?:a|an|the)([^' ~ PY_WORD() ~ ']|$)' -%}
{%- if answer.lowercase %}{% set e = py_lower(e) %}{% endif -%}
{%- if answer.strip_punctuation %}{% set e = "REGEXP_REPLACE(" ~ e ~ ", '[!-/:-@\\[-`{-~]', '', 'g')" %}{% endif -%}
{%- if answer.remove_articles -%}
{%- set e = "REGEXP_REPLACE(REGEXP_REPLACE(" ~ e ~ ", " ~ (article | sql_literal) ~ ", '\\1 \\2', 'g'), "
            ~ (article | sql_literal) ~ ", '\\1 \\2', 'g')" -%}
{%- endif -%}
{%- if answer.collapse_whitespace %}{% set e = py_collapse(e) %}{% endif -%}
{{ e }}
{%- endmacro %}

{#- A multiple-choice answer as the pattern rules read it: the rule file's fold applied
    (full-width letters as ASCII), or the answer itself when the file folds nothing. Computed
    once per row, in the caller's ``prepare``, and handed to choice_letter. -#}
{% macro choice_text(x) -%}
{%- set fold = choice_rules[0] if choice_rules and choice_rules[0].kind == 'fold' else none -%}
{%- if fold is not none -%}
TRANSLATE({{ x }}, {{ fold['from'] | sql_literal }}, {{ fold['to'] | sql_literal }})
{%- else -%}
{{ x }}
{%- endif -%}
{%- endmacro %}

{#- The option letter a multiple-choice answer gives: the rules of specs/answers/choice_letter.yaml
    (the template global choice_rules, each pattern checked when the specs compile) in their
    order, the first that decides wins. ``x``: the answer as choice_text gives it.
    ``option_letter`` is how the caller reads the option-text rule (the answer is the text of one
    of the instance's options); NULL when the caller has no options to compare with. A no_letter
    rule that matches gives '', which ends the search and equals no reference letter. -#}
{% macro choice_letter(x, option_letter=None) -%}
COALESCE(
{%- for rule in choice_rules if rule.kind != 'fold' %}
  {% if rule.kind == 'option_text' -%}
  {{ option_letter if option_letter is not none else 'CAST(NULL AS VARCHAR)' }}
  {%- elif rule.kind == 'no_letter' -%}
  CASE WHEN REGEXP_MATCHES({{ x }}, {{ rule.pattern | sql_literal }}) THEN '' END
  {%- else -%}
  UPPER(NULLIF(REGEXP_EXTRACT({{ x }}, {{ rule.pattern | sql_literal }}, 1), ''))
  {%- endif %}{{ ',' if not loop.last }}
{%- endfor %}
)
{%- endmacro %}

{#- The first number in a text: NULL when there is none or when it is not a finite double
    ("1e999"). -#}
{% macro first_number(x) -%}
NULLIF(NULLIF(TRY_CAST(NULLIF(REGEXP_EXTRACT({{ x }}, '-?[0-9]+(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?', 0), '') AS DOUBLE),
              CAST('Infinity' AS DOUBLE)), CAST('-Infinity' AS DOUBLE))
{%- endmacro %}

{#- Whitespace tokens of a text (empty tokens dropped): x.split() for a text whose whitespace
    is already collapsed to single spaces (collapsed=true), otherwise split at any Python
    whitespace. -#}
{% macro words(x, collapsed=true) -%}
{%- if collapsed -%}
LIST_FILTER(STRING_SPLIT({{ x }}, ' '), t -> t <> '')
{%- else -%}
LIST_FILTER(STRING_SPLIT({{ py_spaces(x) }}, ' '), t -> t <> '')
{%- endif -%}
{%- endmacro %}

{#- The space-separated tokens of a text whose whitespace is collapsed (single spaces, none at
    either end, as normalize_answer's collapse leaves it): a split, and no token for the empty
    text (read as NULL, whose split is NULL; so a NULL text has no tokens either). The same list
    as words(x), without a lambda over the tokens, which cost more than the split; x is written
    once (a normalized answer written twice had its regular expressions compiled and run twice
    in every token F1 scoring statement). -#}
{% macro split_collapsed(x) -%}
COALESCE(STRING_SPLIT(NULLIF({{ x }}, ''), ' '), CAST([] AS VARCHAR[]))
{%- endmacro %}

{#- How many items two token lists share, counting repeats (multiset intersection size). -#}
{% macro common(p, g) -%}
COALESCE(LIST_SUM(LIST_TRANSFORM(LIST_DISTINCT({{ p }}), w -> LEAST(LEN(LIST_FILTER({{ p }}, x -> x = w)), LEN(LIST_FILTER({{ g }}, x -> x = w))))), 0)
{%- endmacro %}

{#- F1 of two token lists from their overlap: 2 * common / (|p| + |g|), 0 when either is empty.
    `overlap` appears once: it is the expensive part. -#}
{% macro overlap_f1(overlap, p, g) -%}
CASE WHEN LEN({{ p }}) = 0 OR LEN({{ g }}) = 0 THEN 0.0
     ELSE 2.0 * {{ overlap }} / (LEN({{ p }}) + LEN({{ g }})) END
{%- endmacro %}

{#- sacrebleu's BLEU segment preprocessing with its "13a" tokenizer (mteval-v13a), case-
    sensitive: the segment is rstrip()ped, then <skipped> and "-\n" removed, newlines made
    spaces, four HTML entities decoded, punctuation split off, and the result split at Python
    whitespace. -#}
{% macro tokenize_13a(x) -%}
{%- set decoded -%}
REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(
      {{ py_rstrip(x) }}, '<skipped>', ''), '-' || CHR(10), ''), CHR(10), ' '),
      '&quot;', '"'), '&amp;', '&'), '&lt;', '<'), '&gt;', '>')
{%- endset -%}
{#- whitespace is made spaces before the punctuation rules, which treat a space and any other
    whitespace alike (neither is a digit, the one class they test), so the tokens are split at
    spaces -#}
{%- set tokenized -%}
REGEXP_REPLACE(REGEXP_REPLACE(REGEXP_REPLACE(REGEXP_REPLACE(
    ' ' || {{ py_spaces(decoded) }} || ' ',
    '([\{-\~\[-\` -\&\(-\+\:-\@\/])', ' \1 ', 'g'),
    '([^0-9])([\.,])', '\1 \2 ', 'g'),
    '([\.,])([^0-9])', ' \1 \2', 'g'),
    '([0-9])(-)', '\1 \2 ', 'g')
{%- endset -%}
{#- The tokenized text begins and ends with a space (the rules above keep the ones put there and
    only add spaces): runs of spaces made one, it splits into an empty first and last item around
    the tokens. (A slice, not a filter lambda over the tokens, which cost several times more.) -#}
STRING_SPLIT(REGEXP_REPLACE({{ tokenized }}, '  +', ' ', 'g'), ' ')[2:-2]
{%- endmacro %}

{#- ROUGE tokens, space-joined: lower-case (str.lower()); tokens are made of letters, combining
    marks and digits (L*, M*, N*): each such character of the Han, Hiragana, Katakana or Hangul
    scripts is a token, every other maximal run is a token, anything else (a CJK symbol such as
    ㌦ too) separates tokens (rouge_score keeps only [a-z0-9] runs and so drops CJK, Greek and
    accented text). Written as two regex replacements, not REGEXP_EXTRACT_ALL: the same tokens,
    ~6x faster. -#}
{% macro rouge_text(x) -%}
TRIM(REGEXP_REPLACE(REGEXP_REPLACE({{ py_lower(x) }}, {{ ('([' ~ CJK() ~ '])') | sql_literal }}, ' \1 ', 'g'), '[^\p{L}\p{M}\p{N}]+', ' ', 'g'))
{%- endmacro %}

{#- The same tokens as a list. -#}
{% macro rouge_tokens(x) -%}
LIST_FILTER(STRING_SPLIT({{ rouge_text(x) }}, ' '), t -> t <> '')
{%- endmacro %}
