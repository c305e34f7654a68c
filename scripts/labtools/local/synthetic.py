"""Made-up NYC-taxi trips with the lab's columns, written to a CSV file the notebooks read like any other.

`run_lab.py --synthetic ROWS` (or `--param data_path=synthetic:ROWS`) writes them to the output folder's
stand-in for DBFS and passes that file as the notebooks' `data_path`; `scripts/bench.py`'s scale runs use the
same trips. The notebooks themselves only read CSV files: made-up data is the runner's, not the lesson's.
The trips are the same for the same ROWS (a fixed seed), so that runs on them are reproducible.
"""

from __future__ import annotations

from pathlib import Path

from .errors import UsageError

# A data_path of "synthetic:ROWS" asks the runner for made-up trips.
PREFIX = "synthetic:"


def rows_of(data_path: str) -> int | None:
    """ROWS of a `synthetic:ROWS` data_path, or None for any other data_path."""
    if not data_path.startswith(PREFIX):
        return None
    rows = data_path[len(PREFIX) :]
    if not rows.isdigit() or int(rows) < 1:
        raise UsageError(
            f"data_path {data_path!r}: expected {PREFIX}ROWS with ROWS a whole number of at least 1, e.g. {PREFIX}10000"
        )
    return int(rows)


def write_csv(rows: int, folder: Path) -> Path:
    """`folder/SYNTHETIC-trips-ROWS.csv`: the name says SYNTHETIC where the notebook prints where its data came from."""
    path = folder / f"SYNTHETIC-trips-{rows}.csv"
    synthetic_trips(rows).to_csv(path, index=False)
    return path


def synthetic_trips(rows: int = 10_000, seed: int = 42):
    """Made-up trips with the lab's columns, as a pandas DataFrame.

    Fares grow with distance and are a little higher at night and in the rush hours;
    rain, snow and holidays add a little. The numbers are plausible, not real.
    """
    import numpy as np  # here, not above: the runner needs them only when asked for made-up trips
    import pandas as pd

    rng = np.random.default_rng(seed)
    holidays = np.array(["New Year's Day", "Martin Luther King, Jr. Day", "Washington's Birthday", "Memorial Day"])
    is_holiday = rng.random(rows) < 0.02
    hour = rng.integers(0, 24, rows)
    distance = np.round(rng.lognormal(mean=0.7, sigma=0.8, size=rows), 2)
    snow_depth = np.where(rng.random(rows) < 0.1, rng.uniform(0, 30, rows), 0.0)
    precip_time = rng.integers(0, 25, rows).astype(float)
    temperature = rng.normal(10, 7, rows)
    busy_hour = np.isin(hour, [7, 8, 9, 16, 17, 18, 19]) | (hour < 5)
    fare = (
        3.0
        + 2.7 * distance
        + 1.0 * busy_hour
        + 0.05 * precip_time
        + 0.03 * snow_depth
        + 1.5 * is_holiday
        + rng.normal(0, 1.5, rows)
    )
    passengers = rng.choice([1.0, 1.0, 1.0, 1.0, 2.0, 3.0, 5.0], rows)
    trips = pd.DataFrame(
        {
            "passengerCount": np.where(rng.random(rows) < 0.05, np.nan, passengers),
            "tripDistance": distance,
            "hour_of_day": hour,
            "day_of_week": rng.integers(0, 7, rows),
            "month_num": rng.integers(1, 7, rows),
            "normalizeHolidayName": np.where(is_holiday, rng.choice(holidays, rows), None),
            "isPaidTimeOff": is_holiday,
            "snowDepth": snow_depth,
            "precipTime": precip_time,
            "precipDepth": np.where(precip_time > 0, rng.uniform(0, 50, rows), 0.0),
            "temperature": temperature,
            "totalAmount": np.round(np.maximum(fare, 2.5), 2),
        }
    )
    trips.loc[rng.random(rows) < 0.01, "totalAmount"] = np.nan
    return trips
