"""The imports validate batch N+1 in a thread while batch N is written (issue 26):
csvfiles.ahead keeps at most a bounded number of batches made ahead (memory stays flat
whatever the file's length), raises the thread's errors in the caller, and stops the
thread when the caller stops; a customers import that fails partway keeps the batches
it committed, so running it again resumes."""

import threading

import pytest
from csv_files import HEADER, customer_row

from ebok.customers import importing
from ebok.customers.csvfiles import after_the_next, ahead
from ebok.extensions import db
from ebok.models import Customer


def test_ahead_yields_everything_in_order_and_holds_a_bounded_number_ahead():
    made, taken = [], []
    progress = threading.Condition()

    def items():
        for index in range(50):
            with progress:
                made.append(index)
                progress.notify_all()
            yield index

    for item in ahead(items(), depth=1):
        taken.append(item)
        if item == 0:
            # The thread makes items while this one is held: it gets two ahead (one
            # waiting in the hand-off, one made and waiting to be handed over)...
            with progress:
                assert progress.wait_for(lambda: len(made) == 3, timeout=30)
        # ...and never more, however long the caller takes.
        assert len(made) - len(taken) <= 2
    assert taken == list(range(50))


@pytest.mark.parametrize("pipeline", [ahead, after_the_next])
def test_an_error_making_an_item_is_raised_in_the_caller_after_what_came_before(pipeline):
    """ahead() raises its thread's error; after_the_next hands on the item it held first."""

    def items():
        yield 1
        yield 2
        raise ValueError("line 3 broke")

    taken = []
    with pytest.raises(ValueError, match="line 3 broke"):
        for item in pipeline(items()):
            taken.append(item)
    assert taken == [1, 2]


def test_stopping_early_stops_the_thread_and_closes_the_source():
    closed = threading.Event()

    def items():
        try:
            yield from range(1000)
        finally:
            closed.set()

    made = ahead(items())
    assert next(made) == 0
    made.close()
    assert closed.is_set()
    assert not [thread for thread in threading.enumerate() if thread.name == "import-ahead"]


def test_after_the_next_hands_each_item_on_once_the_next_is_made():
    made, handed = [], []

    def items():
        for index in range(5):
            made.append(index)
            yield index

    for item in after_the_next(items()):
        handed.append(item)
        assert made == list(range(min(item + 2, 5)))  # the next one, and no more, is made
    assert handed == list(range(5))


def test_a_customers_import_failing_in_its_validation_keeps_the_batches_written(
    app, tmp_path, monkeypatch
):
    path = tmp_path / "customers.csv"
    path.write_text(HEADER + "".join(customer_row(index) for index in range(10)))
    check_batch = importing._start_check

    def failing_third(lookups, batch, *rest):
        if batch[0][0] >= 6:  # the third batch of two lines: lines 6 and 7
            raise RuntimeError("validation failed")
        return check_batch(lookups, batch, *rest)

    monkeypatch.setattr(importing, "_start_check", failing_third)
    with app.app_context():
        with pytest.raises(RuntimeError, match="validation failed"):
            importing.import_customers(str(path), batch_size=2)
        assert db.session.query(Customer).count() == 4
    monkeypatch.setattr(importing, "_start_check", check_batch)
    with app.app_context():
        report = importing.import_customers(str(path), batch_size=2)
    assert (report.added, report.unchanged, report.rejected) == (6, 4, [])
