#!/usr/bin/env python3
"""Builds admin_units_vn_pre2025.csv and admin_unit_mapping_2025_vn.csv from PyPI
`vietnamadminunits` 1.0.4 (MIT, Tran Ngoc Minh Hieu), and checks it against the data already
shipped: its current units against admin_units_vn_2025.csv (from `vietnam-provinces`), its
Quảng Yên units and mapping against admin_units_quang_yen.csv and admin_unit_mapping_2025.csv.

    pip download --no-deps vietnamadminunits==1.0.4 -d /tmp/vau
    unzip -q /tmp/vau/vietnamadminunits-1.0.4-py3-none-any.whl -d /tmp/vau/x
    python3 sync-core/data/import_vietnamadminunits.py /tmp/vau/x/vietnamadminunits/data

Reads `dataset.db` (tables `admin_units_legacy`: the 63 provinces, 696 districts and 10,035
communes, wards and townships before 2025-07-01; `admin_units`: the 3,321 units since) and
`converter_2025.json` (old unit -> new unit, by name keys; split units list every new unit
with one marked as the default). Writes the two CSVs beside this script and prints the checks;
exits non-zero when a check fails.
"""

import csv
import json
import sqlite3
import sys
import unicodedata
from pathlib import Path

HERE = Path(__file__).resolve().parent
LAST_OLD_DAY = "2025-06-30"
# The served area's own rows (admin_units_quang_yen.csv): province 22 (valid in every period)
# and the town of Quảng Yên with its 19 units.
SERVED_PROVINCE, SERVED_TOWN = "22", "206"
DISTRICT_LEVELS = {"Quận": "district", "Huyện": "district", "Thành phố": "district", "Thị xã": "town"}
WARD_LEVELS = {"Phường": "ward", "Xã": "commune", "Thị trấn": "township"}


def nfc(s):
    s = unicodedata.normalize("NFC", s.strip())
    if "," in s:
        sys.exit(f"a name holds a comma: {s}")
    return s


def read_csv(name):
    with open(HERE / name, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def legacy_units(db):
    """The pre-2025 units outside the served rows: provinces, districts, wards."""
    rows = db.execute(
        "SELECT province, provinceCode, district, districtCode, districtType, ward, wardCode, "
        "wardType, provinceKey, districtKey, wardKey FROM admin_units_legacy "
        "ORDER BY provinceCode, districtCode, wardCode"
    ).fetchall()
    provinces, districts, wards, keys = {}, {}, [], {}
    for (p, pc, d, dc, dt, w, wc, wt, pk, dk, wk) in rows:
        provinces.setdefault(pc, nfc(p))
        districts.setdefault(dc, (nfc(d), DISTRICT_LEVELS[dt], pc))
        keys[f"{pk}_{dk}_{wk or ''}"] = (wc or dc, nfc(w) if w else nfc(d))
        if w:
            wards.append((wc, nfc(w), WARD_LEVELS[wt], dc))
    units = []
    for pc, name in provinces.items():
        if pc != SERVED_PROVINCE:
            units.append((pc, name, "province", "", "", LAST_OLD_DAY))
    for dc, (name, level, pc) in districts.items():
        if dc != SERVED_TOWN:
            units.append((dc, name, level, pc, "", LAST_OLD_DAY))
    for wc, name, level, dc in wards:
        if dc != SERVED_TOWN:
            units.append((wc, name, level, dc, "", LAST_OLD_DAY))
    return units, keys, provinces


TONES = {"\u0300", "\u0301", "\u0303", "\u0309", "\u0323"}


def canon(name):
    """A unit name compared across datasets: case, spaces, apostrophes and dashes unified,
    and each syllable's tone mark wherever it is placed ("Hoà" = "Hòa"), other marks kept."""
    s = name.lower().replace("\u2019", "'").replace("\u2013", "-").replace("\u00a0", " ")
    out = []
    for syllable in s.split():
        d = unicodedata.normalize("NFD", syllable)
        tones = "".join(sorted(c for c in d if c in TONES))
        out.append(unicodedata.normalize("NFC", "".join(c for c in d if c not in TONES)) + tones)
    return " ".join(out)


def current_units(db):
    """(new province key, ward key) -> (code, name) of the shipped catalogue's unit of that
    province with the same name: the current codes stay those of `vietnam-provinces`
    (admin_units_vn_2025.csv); the two packages disagree on some (printed)."""
    shipped = {}
    for r in read_csv("admin_units_vn_2025.csv") + read_csv("admin_units_quang_yen.csv"):
        if r["level"] != "province" and not r["valid_to"]:
            shipped.setdefault((r["parent_code"], canon(r["name"])), []).append((r["code"], r["name"]))
    rows = db.execute("SELECT provinceKey, wardKey, provinceCode, wardCode, ward FROM admin_units").fetchall()
    out, differ = {}, []
    for (pk, wk, pc, wc, w) in rows:
        match = shipped.get((pc, canon(w)), [])
        if len(match) != 1:
            sys.exit(f"no single shipped unit named {w} in province {pc}: {match}")
        out[(pk, wk)] = match[0]
        if match[0][0] != wc:
            differ.append((wc, match[0][0], match[0][1]))
    print(f"current units: {len(out)} matched by province and name; {len(differ)} with another code")
    for theirs, ours, name in differ:
        print(f"  code differs: {name}: vietnamadminunits {theirs}, vietnam-provinces {ours}")
    return out


def mapping(conv, keys, new_units, served_old):
    """(old_code, old_name, new_code, new_name, note) rows: whole units, then split ones with
    the default new unit first."""
    out = []
    for new_pk, wards in conv["DICT_PROVINCE_WARD_NO_DIVIDED"].items():
        for new_wk, olds in wards.items():
            new_code, new_name = new_units[(new_pk, new_wk)]
            for old_key in olds:
                old_code, old_name = keys[old_key]
                if old_code not in served_old:
                    out.append((old_code, old_name, new_code, new_name, ""))
    for new_pk, olds in conv["DICT_PROVINCE_WARD_DIVIDED"].items():
        for old_key, targets in olds.items():
            old_code, old_name = keys[old_key]
            if old_code in served_old:
                continue
            for t in sorted(targets, key=lambda t: not t["isDefaultNewWard"]):
                new_code, new_name = new_units[(new_pk, t["newWardKey"])]
                note = "split: " + ("default new unit" if t["isDefaultNewWard"] else "part of the old unit")
                out.append((old_code, old_name, new_code, new_name, note))
    out.sort(key=lambda r: (r[0], r[4] != "split: default new unit"))
    return out


def province_mapping(conv, provinces_old, db):
    names = dict(db.execute("SELECT DISTINCT provinceKey, province FROM admin_units").fetchall())
    codes = dict(db.execute("SELECT DISTINCT provinceKey, provinceCode FROM admin_units").fetchall())
    old_codes = dict(db.execute("SELECT DISTINCT provinceKey, provinceCode FROM admin_units_legacy").fetchall())
    out = []
    for new_pk, olds in conv["DICT_PROVINCE"].items():
        for old_pk in olds:
            oc = old_codes[old_pk]
            if oc != SERVED_PROVINCE:
                out.append((oc, provinces_old[oc], codes[new_pk], nfc(names[new_pk]), ""))
    return out


def checks(db, new_units, conv, keys):
    failures = []
    if len(new_units) != 3321:
        failures.append(f"expected 3,321 current units, got {len(new_units)}")
    # Quảng Yên: the same 19 old units and the same old -> new mapping (with Liên Hòa split).
    qy_old = {r["code"]: r["name"] for r in read_csv("admin_units_quang_yen.csv") if r["parent_code"] == SERVED_TOWN}
    theirs_qy = {c: n for k, (c, n) in keys.items() if k.startswith("tinhquangninh_thixaquangyen_") and c != SERVED_TOWN}
    if qy_old != theirs_qy:
        failures.append(f"Quảng Yên's old units differ: {sorted(set(qy_old.items()) ^ set(theirs_qy.items()))}")
    shipped_map = {(r["old_code"], r["new_code"]) for r in read_csv("admin_unit_mapping_2025.csv")}
    their_map = set()
    for new_pk, wards in conv["DICT_PROVINCE_WARD_NO_DIVIDED"].items():
        for new_wk, olds in wards.items():
            for k in olds:
                if k.startswith("tinhquangninh_thixaquangyen_"):
                    their_map.add((keys[k][0], new_units[(new_pk, new_wk)][0]))
    for new_pk, olds in conv["DICT_PROVINCE_WARD_DIVIDED"].items():
        for k, targets in olds.items():
            if k.startswith("tinhquangninh_thixaquangyen_"):
                for t in targets:
                    their_map.add((keys[k][0], new_units[(new_pk, t["newWardKey"])][0]))
    print(f"Quảng Yên mapping: {len(their_map)} pairs here, {len(shipped_map)} shipped, equal: {their_map == shipped_map}")
    if their_map != shipped_map:
        failures.append(f"Quảng Yên's mapping differs: {sorted(their_map ^ shipped_map)}")
    return failures


def write(name, header, rows):
    with open(HERE / name, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)
    print(f"wrote {name}: {len(rows)} rows")


def main():
    data = Path(sys.argv[1])
    db = sqlite3.connect(data / "dataset.db")
    conv = json.loads((data / "converter_2025.json").read_text(encoding="utf-8"))
    units, keys, provinces = legacy_units(db)
    new_units = current_units(db)
    served_old = {r["code"] for r in read_csv("admin_units_quang_yen.csv") if r["valid_to"]}
    rows = province_mapping(conv, provinces, db) + mapping(conv, keys, new_units, served_old)
    failures = checks(db, new_units, conv, keys)
    write("admin_units_vn_pre2025.csv", ["code", "name", "level", "parent_code", "valid_from", "valid_to"], units)
    write("admin_unit_mapping_2025_vn.csv", ["old_code", "old_name", "new_code", "new_name", "note"], rows)
    for f in failures:
        print("CHECK FAILED:", f)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
