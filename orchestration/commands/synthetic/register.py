"""The practice register of the generated practices (docs/register-contract.md): one
delivery under ``landing/_register/``, practices first, manifest last.

Names follow the way Dutch practices call themselves ("Fysiotherapie De Linde",
"Oefentherapie Cesar Zuid", "Praktijk voor Fysiotherapie Jansen"), by discipline, in real
Dutch places. A few practices (``LEFT_OUT_SHARE``, at least one) are left out of the
register, as a register extract always misses some (new or moved practices): the portal
and the reports then address them by their AGB code. Everything is drawn from the seed
alone, with a random stream of its own, so the claims are the same with or without it.
"""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path

import numpy as np

from orchestration.commands.synthetic.deliveries import scratch_dir
from orchestration.commands.synthetic.population import Population
from orchestration.delivery.contract import file_sha256
from orchestration.delivery.contract.register import (
    REGISTER_COLUMNS,
    REGISTER_CONTRACT_VERSION,
    REGISTER_FILE,
    REGISTER_KIND,
)
from orchestration.landing.zone import MANIFEST_NAME, REGISTER_FOLDER

LEFT_OUT_SHARE = 0.03
REGISTER_STREAM = 31  # the register's own random stream of the seed

PLACES = (
    "Amsterdam",
    "Rotterdam",
    "Den Haag",
    "Utrecht",
    "Eindhoven",
    "Groningen",
    "Tilburg",
    "Almere",
    "Breda",
    "Nijmegen",
    "Apeldoorn",
    "Haarlem",
    "Arnhem",
    "Enschede",
    "Amersfoort",
    "Zaandam",
    "Den Bosch",
    "Zwolle",
    "Leiden",
    "Maastricht",
    "Dordrecht",
    "Zoetermeer",
    "Ede",
    "Deventer",
    "Delft",
    "Alkmaar",
    "Heerlen",
    "Venlo",
    "Leeuwarden",
    "Hilversum",
    "Hengelo",
    "Amstelveen",
    "Roosendaal",
    "Purmerend",
    "Oss",
    "Schiedam",
    "Spijkenisse",
    "Helmond",
    "Vlaardingen",
    "Gouda",
    "Assen",
    "Emmen",
    "Veenendaal",
    "Zeist",
    "Kampen",
    "Harderwijk",
    "Middelburg",
    "Vlissingen",
    "Goes",
    "Sneek",
    "Drachten",
    "Heerenveen",
    "Doetinchem",
    "Winterswijk",
    "Tiel",
    "Culemborg",
    "Woerden",
    "Nieuwegein",
    "Houten",
    "Bussum",
    "Weesp",
    "Hoorn",
    "Enkhuizen",
    "Den Helder",
    "Bergen op Zoom",
    "Roermond",
    "Sittard",
    "Weert",
    "Meppel",
    "Steenwijk",
    "Hardenberg",
    "Zutphen",
)
FEATURES = (
    "De Linde",
    "De Eik",
    "De Beuk",
    "Het Anker",
    "De Brug",
    "De Wieken",
    "Het Baken",
    "De Horst",
    "De Kern",
    "Het Plein",
    "De Vaart",
    "De Dijk",
    "De Molen",
    "Het Park",
    "De Hoven",
    "De Esch",
    "'t Hofje",
    "De Meander",
    "Het Lindeplein",
    "De Bron",
    "Het Kompas",
    "De Poort",
    "De Singel",
)
QUARTERS = ("Centrum", "Noord", "Oost", "Zuid", "West")
SURNAMES = (
    "Jansen",
    "de Vries",
    "van den Berg",
    "Bakker",
    "Visser",
    "Smit",
    "Meijer",
    "de Boer",
    "Mulder",
    "de Groot",
    "Bos",
    "Vos",
    "Peters",
    "Hendriks",
    "van Leeuwen",
    "Dekker",
    "Brouwer",
    "de Wit",
    "Dijkstra",
    "Smits",
    "de Graaf",
    "van der Meer",
    "Kok",
    "Jacobs",
    "Willems",
)
# by practice type (population.py: 0 fysiotherapie, 1 oefentherapie, 2 both)
STYLES = {
    0: (
        "Fysiotherapie {feature}",
        "Praktijk voor Fysiotherapie {surname}",
        "Fysiotherapie {place} {quarter}",
        "Fysiotherapiepraktijk {surname}",
        "Fysiotherapie {surname} & {surname2}",
        "Fysiotherapie en Manuele Therapie {feature}",
    ),
    1: (
        "Oefentherapie Cesar {quarter}",
        "Oefentherapie {feature}",
        "Mensendieck Oefentherapie {surname}",
        "Praktijk voor Oefentherapie {place}",
    ),
    2: (
        "Fysio- en Oefentherapie {feature}",
        "Paramedisch Centrum {feature}",
        "Gezondheidscentrum {place} {quarter}",
    ),
}


def _capital(name: str) -> str:
    return name[:1].upper() + name[1:]


def register_rows(pop: Population) -> list[tuple[str, str, str]]:
    """(practice_agb, practice_name, place) of the practices in the register, in AGB order;
    the left-out practices have no row."""
    rng = np.random.default_rng([pop.seed, REGISTER_STREAM])
    n = pop.practices
    left_out = set(rng.choice(n, size=min(n, max(1, round(n * LEFT_OUT_SHARE))), replace=False).tolist())
    style_draw, feature, quarter, surname, surname2, place = (rng.integers(0, 1 << 30, size=n) for _ in range(6))
    rows = []
    for i in range(n):
        if i in left_out:
            continue
        styles = STYLES[int(pop.practice_type[i])]
        name = styles[style_draw[i] % len(styles)].format(
            feature=FEATURES[feature[i] % len(FEATURES)],
            quarter=QUARTERS[quarter[i] % len(QUARTERS)],
            # a surname without initials takes a capital: "Van Leeuwen", "De Groot"
            surname=_capital(SURNAMES[surname[i] % len(SURNAMES)]),
            surname2=_capital(SURNAMES[(surname[i] + 1 + surname2[i] % (len(SURNAMES) - 1)) % len(SURNAMES)]),
            place=PLACES[place[i] % len(PLACES)],
        )
        rows.append((f"{pop.practice_agb[i]:08d}", name, PLACES[place[i] % len(PLACES)]))
    return sorted(rows)


def register_delivery_id(first_year: int) -> str:
    """The register extract the generated years start from."""
    return f"{first_year}0101T0700"


def write_register(data_dir: Path, pop: Population, first_year: int) -> tuple[Path, int] | None:
    """Write the register delivery (practices first, manifest last); None when a complete one
    with this id exists already (landed files are never rewritten)."""
    delivery_id = register_delivery_id(first_year)
    folder = Path(data_dir) / "landing" / REGISTER_FOLDER / delivery_id
    if (folder / MANIFEST_NAME).exists():
        return None
    folder.mkdir(parents=True, exist_ok=True)
    rows = register_rows(pop)
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(REGISTER_COLUMNS)
    writer.writerows(rows)
    (folder / REGISTER_FILE).write_text(text.getvalue(), encoding="utf-8")
    manifest = {
        "contract_version": REGISTER_CONTRACT_VERSION,
        "register": REGISTER_KIND,
        "delivery_id": delivery_id,
        "extract_date": f"{first_year}-01-01",
        "files": [{"name": REGISTER_FILE, "sha256": file_sha256(folder / REGISTER_FILE), "rows": len(rows)}],
    }
    tmp = scratch_dir(Path(data_dir)) / f"manifest-register-{delivery_id}.json"
    tmp.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, folder / MANIFEST_NAME)
    return folder, len(rows)
