"""Can pandas / pyarrow / DuckDB / Polars read growlab's Arrow IPC artifacts as they are, offline? And Parquet copies?

    python scripts/interop-check.py FOLDER      # every *.arrow file directly in FOLDER

Needs pyarrow, pandas, duckdb and polars in the Python it runs with (not in .growlab/venv: `pip install pandas duckdb
polars pyarrow` into any environment). Prints, per file and reader, OK/FAIL, milliseconds and what was read.
Findings and their interpretation: docs/interop.md.
"""
import glob, json, os, sys, tempfile, time
import pyarrow as pa, pyarrow.dataset as ds, pyarrow.ipc as ipc, pyarrow.parquet as pq
import pandas as pd, duckdb, polars as pl

files = sorted(glob.glob(os.path.join(sys.argv[1], "*.arrow")))
print("versions:", {"pyarrow": pa.__version__, "pandas": pd.__version__, "duckdb": duckdb.__version__, "polars": pl.__version__})

def attempt(fn):
    t = time.perf_counter()
    try:
        r = fn()
        return {"ok": True, "ms": round((time.perf_counter() - t) * 1000, 1), **(r or {})}
    except Exception as e:
        return {"ok": False, "ms": round((time.perf_counter() - t) * 1000, 1), "error": f"{type(e).__name__}: {str(e).splitlines()[0][:220]}"}

tmp = tempfile.mkdtemp()
for f in files:
    name = os.path.basename(f)
    table = ipc.open_file(f).read_all()
    out = {"rows": table.num_rows, "bytes": os.path.getsize(f),
           "types": sorted({str(t) for t in table.schema.types})}
    out["pyarrow ipc.open_file"] = attempt(lambda: {"metadata": sorted(k.decode() for k in (ipc.open_file(f).read_all().schema.metadata or {}))})
    out["pandas read_feather"] = attempt(lambda: {"dtypes": sorted({str(d) for d in pd.read_feather(f).dtypes})})
    out["pandas via pyarrow to_pandas"] = attempt(lambda: {"shape": list(ipc.open_file(f).read_all().to_pandas().shape)})
    out["polars read_ipc"] = attempt(lambda: {"dtypes": sorted({str(d) for d in pl.read_ipc(f).dtypes})})
    con = duckdb.connect()
    out["duckdb on a pyarrow table (con.register)"] = attempt(lambda: (con.register("t", ipc.open_file(f).read_all()), {"rows": con.sql("select count(*) from t").fetchone()[0]})[1])
    out["duckdb on pyarrow.dataset(format=ipc)"] = attempt(lambda: (con.register("d", ds.dataset(f, format="ipc")), {"rows": con.sql("select count(*) from d").fetchone()[0]})[1])
    out["duckdb read_arrow(file)"] = attempt(lambda: {"rows": con.sql(f"select count(*) from read_arrow('{f}')").fetchone()[0]})
    out["duckdb FROM 'file.arrow'"] = attempt(lambda: {"rows": con.sql(f"select count(*) from '{f}'").fetchone()[0]})
    out["duckdb INSTALL arrow FROM community"] = attempt(lambda: (con.sql("INSTALL arrow FROM community"), con.sql("LOAD arrow"), {"rows": con.sql(f"select count(*) from read_arrow('{f}')").fetchone()[0]})[2])
    pqf = os.path.join(tmp, name.replace(".arrow", ".parquet"))
    out["parquet write (pyarrow)"] = attempt(lambda: (pq.write_table(table, pqf), {"bytes": os.path.getsize(pqf)})[1])
    out["duckdb read_parquet"] = attempt(lambda: {"rows": con.sql(f"select count(*) from read_parquet('{pqf}')").fetchone()[0]})
    out["pandas read_parquet"] = attempt(lambda: {"shape": list(pd.read_parquet(pqf).shape)})
    out["polars read_parquet"] = attempt(lambda: {"shape": list(pl.read_parquet(pqf).shape)})
    out["parquet keeps growlab metadata"] = attempt(lambda: {"metadata": sorted(k.decode() for k in (pq.read_schema(pqf).metadata or {}) if k.startswith(b"growlab"))})
    print(f"== {name}: {out.pop('rows')} rows, {out.pop('bytes')} bytes, types {out.pop('types')}")
    for k, v in out.items():
        extra = {kk: vv for kk, vv in v.items() if kk not in ("ok", "ms")}
        print(f"  {'OK  ' if v['ok'] else 'FAIL'} {k:45s} {v['ms']:8.1f} ms  {json.dumps(extra)[:200]}")
