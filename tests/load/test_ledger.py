import duckdb

from load.ledger import UPSERT_ACTIONS, Ledger, LedgerEntry


def entry(record_id, action, hash_, outcome="ok", **kw):
    return LedgerEntry(
        "account",
        record_id,
        f"opencrm:account:{record_id}",
        action,
        hash_,
        {"h": hash_},
        kw.get("previous"),
        outcome,
        kw.get("code"),
        kw.get("message"),
    )


def test_previous_is_the_last_successful_operation(tmp_path):
    with Ledger(tmp_path / "ledger.duckdb") as ledger:
        run = ledger.start_run("full", {"sample": None})
        ledger.record(
            run,
            "full",
            [entry("a", "create", "h1"), entry("b", "create", "x", "failed", code="0x1")],
        )
        ledger.record(
            run,
            "full",
            [
                entry("a", "update", "h2", previous={"h": "h1"}),
                entry("a", "update", "h3", "failed"),
            ],
        )
        ledger.record(run, "full", [entry("a", "state", "s1")])

        upserts = ledger.previous("account", ["a", "b", "c"], UPSERT_ACTIONS)
        states = ledger.previous("account", ["a"], ("state",))

    assert set(upserts) == {"a"}
    assert upserts["a"].payload_hash == "h2"
    assert states["a"].payload_hash == "s1"


def test_runs_and_entries_are_kept_in_a_duckdb_file(tmp_path):
    path = tmp_path / "var" / "ledger.duckdb"
    with Ledger(path) as ledger:
        run = ledger.start_run("sample", {"sample": 5})
        ledger.record(
            run,
            "sample",
            [
                entry("a", "create", "h1"),
                entry("b", "create", "h2", "failed", code="0x80044331", message="too long"),
            ],
        )
        ledger.finish_run(run, "failed")

    with duckdb.connect(str(path), read_only=True) as con:
        runs = con.execute("select run_id, mode, status, finished is not null from runs").fetchall()
        failed = con.execute(
            "select record_id, source_key, error_code, error_message, payload->>'h' "
            "from ledger where outcome = 'failed'"
        ).fetchall()
    assert runs == [(run, "sample", "failed", True)]
    assert failed == [("b", "opencrm:account:b", "0x80044331", "too long", "h2")]


def test_reopening_appends(tmp_path):
    path = tmp_path / "ledger.duckdb"
    for _ in range(2):
        with Ledger(path) as ledger:
            run = ledger.start_run("full", {})
            ledger.record(run, "full", [entry("a", "create", "h1")])
    with Ledger(path) as ledger:
        assert len(ledger.entries()) == 2
        assert len(ledger.runs()) == 2


def test_concurrent_writers_are_committed_together_each_callers_rows_in_order(tmp_path):
    """Group commit: 40 threads append at once; every row lands, each caller's rows contiguous
    and in the order given, and `record` returns only once its rows are committed."""
    import threading

    with Ledger(tmp_path / "ledger.duckdb") as ledger:
        run = ledger.start_run("full", {})
        seen_after_return = []

        def writer(n: int) -> None:
            ids = [f"w{n:02d}-{i:03d}" for i in range(50)]
            ledger.record(run, "full", [entry(i, "create", "h") for i in ids])
            committed = ledger.query(
                "select count(*) from ledger where record_id like ?", [f"w{n:02d}-%"]
            )[0][0]
            seen_after_return.append(committed)

        threads = [threading.Thread(target=writer, args=(n,)) for n in range(40)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

        assert seen_after_return == [50] * 40
        rows = ledger.query("select record_id from ledger order by seq")
        ids = [r[0] for r in rows]
        assert len(ids) == 2000 and len(set(ids)) == 2000
        for n in range(40):
            mine = [i for i, record_id in enumerate(ids) if record_id.startswith(f"w{n:02d}-")]
            assert mine == list(range(mine[0], mine[0] + 50))  # contiguous
            assert [ids[i] for i in mine] == sorted(ids[i] for i in mine)  # in the order given


def test_a_failed_append_is_raised_to_its_caller_and_the_ledger_goes_on(tmp_path):
    with Ledger(tmp_path / "ledger.duckdb") as ledger:
        run = ledger.start_run("full", {})
        bad = LedgerEntry("account", None, None, "create", "h", None, None, "ok")  # type: ignore[arg-type]
        try:
            ledger.record(run, "full", [bad])
        except duckdb.Error as exc:
            assert "record_id" in str(exc)
        else:
            raise AssertionError("a NOT NULL violation must reach the caller")
        ledger.record(run, "full", [entry("a", "create", "h1")])
        assert ledger.query("select record_id from ledger") == [("a",)]
