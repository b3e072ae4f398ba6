"""Traits of a data set that `shipyard init` builds its proposal on: the column that orders
rows in time, the columns that describe people (sensitive attributes), and a name.

Pure functions over a DataFrame; `scaffold.propose` turns what they find into policy.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import PurePath
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

# Words that, as a token of a column name, mark a sensitive attribute (protected grounds in
# most anti-discrimination law: sex, race, ethnicity, religion, nationality, disability,
# marital status, age group).
_SENSITIVE_TOKENS = frozenset(
    {
        "sex",
        "gender",
        "race",
        "racial",
        "ethnicity",
        "ethnic",
        "religion",
        "religious",
        "nationality",
        "citizenship",
        "disability",
        "disabled",
        "marital",
        "pregnancy",
        "pregnant",
        "orientation",
    }
)
# Whole names: age bands and groups, and US census (ACS PUMS) codes.
_SENSITIVE_NAMES = frozenset(
    {
        "age_band",
        "ageband",
        "age_group",
        "agegroup",
        "age_bracket",
        "age_cat",
        "age_category",
        "age_range",
        "native_country",
        "country_of_birth",
        "rac1p",  # race, recoded
        "rac2p",
        "rac3p",
        "hisp",  # Hispanic origin
        "mar",  # marital status
        "msp",  # marital status and spouse present
        "dis",  # disability
        "cit",  # citizenship
        "nativity",
    }
)
_GENDER_VALUES = frozenset({"male", "female", "m", "f", "man", "woman", "men", "women"})
_GENDER_EXTRA = frozenset({"non-binary", "nonbinary", "other", "unknown", "x", "u", "diverse", "nan", ""})
_RACE_VALUES = frozenset(
    {
        "white",
        "black",
        "asian",
        "hispanic",
        "latino",
        "amer-indian-eskimo",
        "asian-pac-islander",
        "native american",
        "pacific islander",
        "african american",
        "caucasian",
    }
)
_BIRTH = re.compile(r"birth|dob|born", re.IGNORECASE)
_YEAR_TOKENS = frozenset({"year", "yr", "yyyy", "season"})
MAX_CONTENT_VALUES = 10
_ISO_DATE = r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?(?:Z|[+-]\d{2}:?\d{2})?"


@dataclass(frozen=True)
class TimeColumn:
    """The column that orders rows in time; `kind` is datetime, text_date or year."""

    name: str
    kind: str
    reason: str


@dataclass(frozen=True)
class SensitiveColumn:
    name: str
    reason: str


def _tokens(name: str) -> list[str]:
    spaced = re.sub(r"([a-z])([A-Z])", r"\1_\2", name)
    return [t for t in re.split(r"[^a-z0-9]+", spaced.lower()) if t]


def _normalised(name: str) -> str:
    return "_".join(re.split(r"[^a-z0-9]+", name.lower())).strip("_")


def is_text_dates(values: pd.Series) -> bool:
    """True when every non-empty value is an ISO-8601 date or date-time given as text."""
    import pandas as pd

    if not (values.dtype == object or pd.api.types.is_string_dtype(values)):
        return False
    present = values.dropna()
    if present.empty or not present.map(lambda v: isinstance(v, str)).all():
        return False
    if not present.str.fullmatch(_ISO_DATE).all():
        return False
    parsed = pd.to_datetime(present, format="ISO8601", errors="coerce", utc=True)
    return bool(parsed.notna().all())


def _year_like(values: pd.Series, name: str) -> bool:
    import pandas as pd

    if not pd.api.types.is_integer_dtype(values) or not _YEAR_TOKENS & set(_tokens(name)):
        return False
    present = values.dropna()
    return present.nunique() >= 2 and bool(present.between(1800, 2200).all())


def time_column(frame: pd.DataFrame, target: str) -> TimeColumn | None:
    """The first date/time column, else the first text column of ISO dates, else the first
    integer year column; columns named like a birth date are not a time order."""
    import pandas as pd

    candidates = [c for c in frame.columns if c != target and not _BIRTH.search(str(c))]
    for column in candidates:
        if pd.api.types.is_datetime64_any_dtype(frame[column]):
            return TimeColumn(str(column), "datetime", f"'{column}' holds dates/times")
    for column in candidates:
        if is_text_dates(frame[column]):
            return TimeColumn(str(column), "text_date", f"'{column}' holds ISO dates as text, read as dates")
    for column in candidates:
        if _year_like(frame[column], str(column)):
            return TimeColumn(str(column), "year", f"'{column}' holds years")
    return None


def _sensitive_by_content(values: pd.Series) -> str | None:
    import pandas as pd

    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        return None
    present = values.dropna()
    if present.empty or present.nunique() > MAX_CONTENT_VALUES:
        return None
    seen = {str(v).strip().lower() for v in present.unique()}
    genders = seen & _GENDER_VALUES
    if len(genders) >= 2 and seen <= _GENDER_VALUES | _GENDER_EXTRA:
        return f"values look like sex/gender ({', '.join(sorted(genders))})"
    races = seen & _RACE_VALUES
    if len(races) >= 2:
        return f"values look like race/ethnicity ({', '.join(sorted(races))})"
    return None


def sensitive_columns(frame: pd.DataFrame, target: str) -> list[SensitiveColumn]:
    """Columns that describe a protected attribute of a person, by name or by content."""
    found = []
    for column in frame.columns:
        if column == target:
            continue
        name = str(column)
        tokens = set(_tokens(name))
        if tokens & _SENSITIVE_TOKENS or _normalised(name) in _SENSITIVE_NAMES:
            found.append(SensitiveColumn(name, "its name marks a sensitive attribute"))
            continue
        by_content = _sensitive_by_content(frame[column])
        if by_content:
            found.append(SensitiveColumn(name, by_content))
    return found


_GENERIC_STEMS = frozenset({"data", "dataset", "train", "training", "sample", "export", "raw", "input", "df"})


def safe_name(text: str, *, dns_label: bool = False) -> str | None:
    """`text` as a valid model name (letters, digits, `_`, `-`), or with `dns_label` as a
    Kubernetes object name (lower-case letters, digits, `-`); None if nothing is left.

    >>> safe_name("Fraud Model (v2)"), safe_name("Fraud_Model (v2)", dns_label=True)
    ('Fraud-Model-v2', 'fraud-model-v2')
    """
    text, invalid = (text.lower(), r"[^a-z0-9]+") if dns_label else (text, r"[^A-Za-z0-9_]+")
    name = re.sub(invalid, "-", text).strip("-_")[:64].strip("-_")
    return name or None


def name_from_data(path: PurePath) -> str | None:
    """A model name from the data file's name (`adult.data.csv` -> `adult`); None for a
    generic name such as `data.csv` or `train.parquet`, which says nothing about the model."""
    stem = path.name.split(".")[0]
    if stem.lower() in _GENERIC_STEMS:
        return None
    return safe_name(stem)
