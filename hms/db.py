"""Database routing: every service's models live in that service's database, and only there.

`HMS_SERVICE_DATABASES` maps a service's app label to its database alias. A deployed service maps
its one app to `default`; the test settings map users, grants and finance to three aliases in one
process. Platform apps (auth, admin, sessions, the bus tables) are in every service's database.
"""

import contextlib
import copy
import threading
from collections.abc import Callable, Mapping, Sequence, Sized
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.models import Aggregate, AutoField, DecimalField, JSONField, Model, QuerySet
from django.db.models.sql import InsertQuery


def database_for(service: str) -> str:
    """The database alias that holds `service`'s data (its app label is the service name)."""
    return settings.HMS_SERVICE_DATABASES.get(service, DEFAULT_DB_ALIAS)


def service_atomic(service: str, *, savepoint: bool = True):
    """`transaction.atomic` on the service's own database: its state and its outbox commit together.

    `savepoint=False` where the work, nested in another transaction (a bus handler's, in the
    inbox's), is never caught and retried: its failure fails the whole transaction, and the
    savepoint would cost two round trips for nothing."""
    return transaction.atomic(using=database_for(service), savepoint=savepoint)


@dataclass(frozen=True)
class Upsert:
    """One multi-row `INSERT ... ON CONFLICT (conflict) <update> [RETURNING returning]`, for
    `insert_returning` and `write_together`. `rows` are dicts of field name to value, all with
    the same names."""

    model: type[Model]
    rows: Sequence[dict]
    conflict: tuple[str, ...]
    update: str = "DO NOTHING"
    returning: tuple[str, ...] = ()


def insert_returning(
    alias: str,
    model,
    rows: list[dict],
    *,
    conflict: tuple[str, ...],
    update: str,
    returning: tuple,
) -> list[tuple]:
    """One multi-row `INSERT ... ON CONFLICT (conflict) <update> RETURNING returning` statement
    (PostgreSQL and SQLite alike); the rows it inserted (or, with DO UPDATE, met), as Python
    values. Where the ORM's get_or_create takes a savepoint and up to four round trips, this is
    one, and it is safe against a concurrent insert of the same key."""
    return _upsert(connections[alias], Upsert(model, rows, conflict, update, returning))


@dataclass(frozen=True)
class Children:
    """Rows of `model` that belong to the rows an Upsert writes, for `insert_with_children`.

    Each of `rows` is (its parent's `key`, its own field values): `key` is a unique field of the
    parent model (the Upsert's conflict), `parent` the child's foreign key to it."""

    model: type[Model]
    parent: str
    key: str
    rows: Sequence[tuple[object, dict]]
    returning: tuple[str, ...]


def insert_with_children(
    alias: str, parents: Upsert, children: Children
) -> tuple[list[tuple], list[tuple]]:
    """`insert_returning(parents)`, and the children of each parent row it returns (a parent it
    met and left, DO NOTHING, gets none), each given that row's key: on PostgreSQL in one
    statement, where inserting the children after their parents takes a second round trip.
    Returns the parents' rows and the children's, as `insert_returning` would (`parents`'
    RETURNING must hold the key and the primary key)."""
    connection = connections[alias]
    pk = parents.model._meta.pk.name
    if children.key not in parents.returning or pk not in parents.returning:
        raise ValueError(f"the parents must return {children.key} and {pk}")
    if not children.rows:
        return _upsert(connection, parents), []
    if connection.vendor != "postgresql":
        returned = _upsert(connection, parents)
        keys = parents.returning.index(children.key), parents.returning.index(pk)
        written = {row[keys[0]]: row[keys[1]] for row in returned}
        foreign_key = children.model._meta.get_field(children.parent).attname
        objects = children.model.objects.using(alias).bulk_create(
            children.model(**{foreign_key: written[key]}, **values)
            for key, values in children.rows
            if key in written
        )
        attnames = [children.model._meta.get_field(name).attname for name in children.returning]
        return returned, [tuple(getattr(obj, name) for name in attnames) for obj in objects]
    sql, params = _upsert_sql(connection, parents)
    quote = connection.ops.quote_name
    names = list(children.rows[0][1])
    fields = [children.model._meta.get_field(name) for name in names]
    key_field = parents.model._meta.get_field(children.key)
    arrays = [
        [key_field.get_db_prep_save(key, connection) for key, _ in children.rows],
        *(
            [field.get_db_prep_save(values[name], connection) for _, values in children.rows]
            for name, field in zip(names, fields, strict=True)
        ),
    ]
    types = [key_field, *fields]
    child_sql = (
        f"INSERT INTO {quote(children.model._meta.db_table)} "  # noqa: S608 - names from the models; values are parameters
        f"({quote(children.model._meta.get_field(children.parent).column)}, "
        f"{_columns(connection, children.model, names)}) "
        f"SELECT parent.{quote(parents.model._meta.pk.column)}, "
        f"{', '.join(f'line.column{n}' for n in range(1, len(types)))} FROM parent "
        f"JOIN unnest({_arrays(connection, types)}) "
        f"AS line ({', '.join(f'column{n}' for n in range(len(types)))}) "
        f"ON line.column0 = parent.{quote(key_field.column)} "
        f"RETURNING {_columns(connection, children.model, children.returning)}"
    )
    statement = (
        f"WITH parent AS ({sql}), child AS ({child_sql}) "  # noqa: S608 - names from the models
        f"SELECT 0, {_json_row(connection, parents.model, parents.returning, 'parent')} FROM parent "
        f"UNION ALL SELECT 1, {_json_row(connection, children.model, children.returning, 'child')} "
        "FROM child"
    )
    readers = (
        _python_reader(connection, parents.model, parents.returning),
        _python_reader(connection, children.model, children.returning),
    )
    returned: tuple[list[tuple], list[tuple]] = ([], [])
    with values_in_binary(connection), connection.cursor() as cursor:
        cursor.execute(statement, [*params, *arrays])
        for part, values in cursor.fetchall():
            returned[part].append(readers[part](values))
    return returned


def _json_row(connection, model, returning: Sequence[str], source: str) -> str:
    """A returned row as one JSON array (`json_build_array`), so that rows of different shapes
    share a UNION; decimals as text, so that money never passes through a float."""
    columns = []
    for name in returning:
        field = model._meta.get_field(name)
        column = f"{source}.{connection.ops.quote_name(field.column)}"
        columns.append(f"{column}::text" if isinstance(field, DecimalField) else column)
    return f"json_build_array({', '.join(columns)})"


def _upsert(connection, upsert: Upsert) -> list[tuple]:
    if not upsert.rows:
        return []
    sql, params = _upsert_sql(connection, upsert)
    with values_in_binary(connection), connection.cursor() as cursor:
        cursor.execute(sql, params)
        fetched = cursor.fetchall() if upsert.returning else []
    read = _python_reader(connection, upsert.model, upsert.returning)
    return [read(row) for row in fetched]


def _upsert_sql(connection, upsert: Upsert) -> tuple[str, list]:
    sql, params = _insert_sql(connection, upsert.model, list(upsert.rows), upsert.conflict)
    sql += f" {upsert.update}"
    if upsert.returning:
        sql += f" RETURNING {_columns(connection, upsert.model, upsert.returning)}"
    return sql, params


def _python_reader(connection, model, returning: Sequence[str]) -> Callable[[Sequence], tuple]:
    """Turns a returned row into Python values as a query's would be: the backend's converters
    (SQLite's timestamps, made aware), then the field's own (PostgreSQL's, in JSON, are text)."""
    columns = []
    for name in returning:
        column = model._meta.get_field(name).get_col(model._meta.db_table)
        converters = connection.ops.get_db_converters(column) + column.get_db_converters(connection)
        columns.append((column, converters))

    def read(values: Sequence) -> tuple:
        row = []
        for (column, converters), value in zip(columns, values, strict=True):
            for converter in converters:
                value = converter(value, column, connection)
            row.append(column.target.to_python(value))
        return tuple(row)

    return read


def _columns(connection, model, names) -> str:
    return ", ".join(
        connection.ops.quote_name(model._meta.get_field(name).column) for name in names
    )


def _insert_sql(connection, model, rows: list[dict], conflict: tuple[str, ...]) -> tuple[str, list]:
    """`INSERT INTO model (columns) <rows> ON CONFLICT (conflict)` and its parameters."""
    names = list(rows[0])
    fields = [model._meta.get_field(name) for name in names]
    source, params = rows_source(
        connection,
        fields,
        [
            [field.get_db_prep_save(row[name], connection) for row in rows]
            for name, field in zip(names, fields, strict=True)
        ],
    )
    sql = (
        f"INSERT INTO {connection.ops.quote_name(model._meta.db_table)} "
        f"({_columns(connection, model, names)}) {source} "
        f"ON CONFLICT ({_columns(connection, model, conflict)})"
    )
    return sql, params


def rows_source(connection, fields: Sequence, columns: Sequence[list]) -> tuple[str, list]:
    """The rows an INSERT writes, given as each field's list of values (ready for the database),
    and their parameters: on PostgreSQL, several rows as `SELECT * FROM unnest(...)` of one array
    per column (`_arrays`), elsewhere, and one row, as VALUES."""
    if _in_arrays(connection, columns[0]):
        return f"SELECT * FROM unnest({_arrays(connection, fields)})", list(columns)  # noqa: S608 - types from the fields
    placeholders = "(" + ", ".join(["%s"] * len(fields)) + ")"
    return (
        f"VALUES {', '.join([placeholders] * len(columns[0]))}",
        [value for row in zip(*columns, strict=True) for value in row],
    )


def _in_arrays(connection, rows: Sized) -> bool:
    """Whether to send these rows as one array per column (`_arrays`): on PostgreSQL, for more
    than one row (one row's statement has a fixed shape already)."""
    return connection.vendor == "postgresql" and len(rows) > 1


def _arrays(connection, fields: Sequence) -> str:
    """One parameter per field, each an array of that column's values (for `unnest`), so that a
    statement's text is the same however many rows it writes. psycopg converts a statement's
    placeholders once per text, but only for texts within 4,096 characters and 50 parameters;
    a batch's rows as VALUES passed that and were converted again on every execution (13.5 % of
    a bus worker's time in a drain; bench/README.md, finding 41). Each array is cast to its
    column's type without a length (`varchar`, not `varchar(64)`): a cast would cut a long
    value short, where the column refuses it, as Django's own bulk_create does."""
    return ", ".join(f"%s::{field.db_type(connection).split('(')[0]}[]" for field in fields)


def update_by_pk(alias: str, model, fields: Sequence[str], rows: Mapping[object, Sequence]) -> None:
    """Set `fields` of several rows, each row to its own values (`rows`: primary key to the
    values, in the order of `fields`), in one statement: what `bulk_update` does, without the
    expressions it builds and copies per value (most of a batch's time in a profile). On
    PostgreSQL several rows are `UPDATE ... FROM unnest(...)` of one array per column, elsewhere
    `SET field = CASE pk WHEN ... END`."""
    if not rows:
        return
    connection = connections[alias]
    with values_in_binary(connection), connection.cursor() as cursor:
        cursor.execute(*_update_by_pk_sql(connection, model, fields, rows))


def _update_by_pk_sql(connection, model, fields: Sequence[str], rows: Mapping) -> tuple[str, list]:
    quote = connection.ops.quote_name
    table, pk = quote(model._meta.db_table), model._meta.pk
    columns = [model._meta.get_field(name) for name in fields]
    if _in_arrays(connection, rows):
        # `UPDATE ... FROM unnest(keys, values...)`: one array per column (`_arrays`).
        assignments = ", ".join(
            f"{quote(field.column)} = new.column{index}"
            for index, field in enumerate(columns, start=1)
        )
        names = ", ".join(f"column{index}" for index in range(len(columns) + 1))
        sql = (
            f"UPDATE {table} SET {assignments} "  # noqa: S608 - names from the model; values are parameters
            f"FROM unnest({_arrays(connection, [pk, *columns])}) AS new ({names}) "
            f"WHERE {table}.{quote(pk.column)} = new.column0"
        )
        keys = [pk.get_db_prep_save(key, connection) for key in rows]
        values = [
            [field.get_db_prep_save(row[index], connection) for row in rows.values()]
            for index, field in enumerate(columns)
        ]
        return sql, [keys, *values]
    # A CASE of parameters is typed as text: cast each to its column's type, as Django's own
    # bulk_update does.
    cast = connection.features.requires_casted_case_in_updates
    assignments, params = [], []
    for index, field in enumerate(columns):
        then = f"CAST(%s AS {field.cast_db_type(connection)})" if cast else "%s"
        assignments.append(
            f"{quote(field.column)} = CASE {quote(pk.column)} "
            f"{' '.join([f'WHEN %s THEN {then}'] * len(rows))} END"
        )
        for key, values in rows.items():
            params += [key, field.get_db_prep_save(values[index], connection)]
    sql = (
        f"UPDATE {table} SET {', '.join(assignments)} "  # noqa: S608 - names from the model; values are parameters
        f"WHERE {quote(pk.column)} IN ({', '.join(['%s'] * len(rows))})"
    )
    return sql, [*params, *rows]


@dataclass(frozen=True)
class Inserting:
    """New objects of one model, for `write_together` (as `bulk_create` would insert them)."""

    objects: Sequence[Model]


@dataclass(frozen=True)
class UpdatingByPk:
    """`update_by_pk`'s arguments, for `write_together`."""

    model: type[Model]
    fields: Sequence[str]
    rows: Mapping[object, Sequence]


def write_together(alias: str, *writes: Inserting | UpdatingByPk | Upsert) -> list[list[tuple]]:
    """Make several writes: on PostgreSQL in one statement (each a data-modifying WITH), so in one
    round trip where the ORM takes one per write; elsewhere one by one, in order (`bulk_create`,
    `update_by_pk`, `insert_returning`). Returns each write's returned rows, in their order: an
    Upsert's `RETURNING`, as `insert_returning` gives them; nothing for the others.

    In one statement the writes run on one snapshot in no set order, so they must not touch the
    same rows or read each other's (foreign keys to rows written earlier are fine). Inserted
    objects are unsaved ones with no primary key yet, and get none back. Empty writes are
    skipped. What an Upsert returns comes through JSON on PostgreSQL: numbers, text, UUIDs,
    timestamps and booleans come back as a query's would (decimals as text, never a float); a
    JSON column would not."""
    for write in writes:
        if isinstance(write, Inserting) and write.objects:
            _refuse_saved(write.objects)
    returned: list[list[tuple]] = [[] for _ in writes]
    present = [(part, write) for part, write in enumerate(writes) if _rows_of(write)]
    if not present:
        return returned
    connection = connections[alias]
    if connection.vendor != "postgresql":
        for part, write in present:
            returned[part] = _write_alone(alias, write)
        return returned
    ctes, params = _with_clauses(connection, alias, present, prefix="write")
    selects = [
        f"SELECT {part}, {_json_row(connection, write.model, write.returning, f'write{part}')} "  # noqa: S608 - names from the model
        f"FROM write{part}"
        for part, write in present
        if isinstance(write, Upsert) and write.returning
    ]
    sql = f"WITH {', '.join(ctes)} " + (" UNION ALL ".join(selects) or "SELECT NULL, NULL LIMIT 0")
    readers = {
        part: _python_reader(connection, write.model, write.returning)
        for part, write in present
        if isinstance(write, Upsert)
    }
    with values_in_binary(connection), connection.cursor() as cursor:
        cursor.execute(sql, params)
        for part, values in cursor.fetchall():
            returned[part].append(readers[part](values))
    return returned


def writes_as_with_clauses(
    alias: str, writes: Sequence[Inserting | UpdatingByPk | Upsert], *, prefix: str
) -> tuple[list[str], list]:
    """Writes that return nothing, as data-modifying WITH clauses (`<prefix><n> AS (...)`) and
    their parameters, for a statement of PostgreSQL's that makes its own writes besides (the
    outbox's, `hms.bus.outbox.publish_many`): `write_together`'s rules hold between them all."""
    for write in writes:
        if isinstance(write, Upsert) and write.returning:
            raise ValueError(
                "writes_as_with_clauses returns nothing: an Upsert's RETURNING is lost"
            )
        if isinstance(write, Inserting) and write.objects:
            _refuse_saved(write.objects)
    present = [(part, write) for part, write in enumerate(writes) if _rows_of(write)]
    return _with_clauses(connections[alias], alias, present, prefix=prefix)


def _with_clauses(
    connection,
    alias: str,
    writes: Sequence[tuple[int, Inserting | UpdatingByPk | Upsert]],
    *,
    prefix: str,
) -> tuple[list[str], list]:
    """Numbered writes as `<prefix><n> AS (...)` clauses, and their parameters in order."""
    clauses, params = [], []
    for part, write in writes:
        sql, write_params = _write_sql(connection, alias, write)
        clauses.append(f"{prefix}{part} AS ({sql})")
        params += write_params
    return clauses, params


def _write_alone(alias: str, write: Inserting | UpdatingByPk | Upsert) -> list[tuple]:
    if isinstance(write, Inserting):
        type(write.objects[0]).objects.using(alias).bulk_create(write.objects)
        return []
    if isinstance(write, UpdatingByPk):
        update_by_pk(alias, write.model, write.fields, write.rows)
        return []
    return _upsert(connections[alias], write)


def _write_sql(
    connection, alias: str, write: Inserting | UpdatingByPk | Upsert
) -> tuple[str, list]:
    if isinstance(write, Inserting):
        sql, params = _insert_objects_sql(connection, alias, write.objects)
        return sql, list(params)
    if isinstance(write, UpdatingByPk):
        return _update_by_pk_sql(connection, write.model, write.fields, write.rows)
    return _upsert_sql(connection, write)


def as_written(obj: Model, alias: str) -> Model:
    """`obj`, built from a row just written to `alias`, as saved (without reading it back)."""
    obj._state.adding, obj._state.db = False, alias
    return obj


def _refuse_saved(objects: Sequence[Model]) -> None:
    """On every database alike: `bulk_create` elsewhere would insert a saved object with its key,
    the INSERT made here without it."""
    model = type(objects[0])
    if isinstance(model._meta.pk, AutoField) and any(obj.pk is not None for obj in objects):
        raise ValueError(f"write_together inserts new {model.__name__} rows, not saved ones")


def _rows_of(write: Inserting | UpdatingByPk | Upsert):
    return write.objects if isinstance(write, Inserting) else write.rows


def _insert_objects_sql(connection, alias: str, objects: Sequence[Model]) -> tuple[str, tuple]:
    """The one INSERT `bulk_create` makes for unsaved objects of one model on PostgreSQL (an
    UNNEST of one array per column), without RETURNING; the objects then count as saved."""
    model = type(objects[0])
    fields = [
        field
        for field in model._meta.concrete_fields
        if not field.generated and not isinstance(field, AutoField)
    ]
    for obj in objects:
        obj._prepare_related_fields_for_save(operation_name="write_together")
    query = InsertQuery(model)
    query.insert_values(fields, objects)
    [(sql, params)] = query.get_compiler(using=alias, connection=connection).as_sql()
    for obj in objects:
        as_written(obj, alias)
    return sql, params


class ServiceRouter:
    """Routes reads, writes and migrations by app label; refuses relations across services."""

    def _owner(self, app_label: str) -> str | None:
        return settings.HMS_SERVICE_DATABASES.get(app_label)

    def db_for_read(self, model, **hints):
        return self._owner(model._meta.app_label)

    def db_for_write(self, model, **hints):
        return self._owner(model._meta.app_label)

    def allow_relation(self, obj1, obj2, **hints):
        owner1 = self._owner(obj1._meta.app_label)
        owner2 = self._owner(obj2._meta.app_label)
        if owner1 and owner2 and owner1 != owner2:
            return False
        return obj1._state.db == obj2._state.db

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        owner = self._owner(app_label)
        if owner is not None:
            return db == owner
        return None


def count_up_to(queryset, cap: int) -> tuple[int, bool]:
    """How many rows, counting no further than `cap` (a start page must not count a million):
    (count, capped). One `SELECT COUNT(*) FROM (... LIMIT cap + 1)`."""
    count = queryset.order_by()[: cap + 1].count()
    return min(count, cap), count > cap


@dataclass(frozen=True)
class _CompiledRead:
    queryset: QuerySet
    compiler: object  # the SQL compiler that compiled it: its select list turns rows into models
    converters: dict  # the backend's converters of the selected columns (as results_iter asks)
    sql: str
    params: tuple
    slots: dict[tuple[str, int], list[int]]  # (parameter, its nth value) -> positions in params


class PreparedRead:
    """A hot read whose SQL the ORM compiles once per thread, not on every request.

    Django builds and compiles a queryset's SQL each time it is evaluated: for a lookup with a
    join that is ~1-1.5 ms of Python, against ~0.2 ms for the database round trip
    (bench/README.md, finding 20). A read whose shape never changes, only its parameter values,
    pays that once: `build` is called with placeholders for the parameters and compiled, and
    each call binds its own values into that SQL; the rows become model instances as the ORM
    makes them (select_related, only and prefetch_related included).

        profile_by_id = PreparedRead(lambda pk: Profile.objects.filter(pk=pk)[:1], pk=int)
        profile_by_id(pk=4)  # [<Profile 4>]

    A parameter is a whole number or a string compared as it is (`=`, `__gt`), or a list of
    whole numbers (`list`) or of strings (`list[str]`) for `__in`, compiled once per length. A
    lookup that rewrites its value (`__icontains`) is refused when first compiled.
    """

    KINDS = (int, str, list, list[str])
    LISTS = (list, list[str])
    # Shapes (page windows, list lengths) kept per thread: a client paging far, or through every
    # page size, must not grow a process without bound. Past this the cache starts over.
    MAX_SHAPES = 64

    def __init__(self, build: Callable[..., QuerySet], **parameters: type):
        unsupported = [name for name, kind in parameters.items() if kind not in self.KINDS]
        if unsupported:
            raise ImproperlyConfigured(
                f"PreparedRead parameters are int, str, list or list[str]: {unsupported}"
            )
        self.build = build
        self.parameters = parameters
        self._local = threading.local()  # each thread has its own connection, so its own compiler

    def __call__(self, *, window: tuple[int, int] | None = None, **values) -> list:
        """The rows for these parameter values; `window` (start, stop) reads only that slice of
        them (a page), compiled once per window."""
        if values.keys() != self.parameters.keys():
            raise TypeError(f"PreparedRead takes exactly {sorted(self.parameters)}")
        scalars = {name: self._scalars(name, value) for name, value in values.items()}
        if any(not bound for bound in scalars.values()):
            return []  # `__in` nothing: nothing to read
        compiled = self._compiled(window, {name: len(bound) for name, bound in scalars.items()})
        params = list(compiled.params)
        for (name, nth), positions in compiled.slots.items():
            for position in positions:
                # As the compiler adapted it (PostgreSQL's integers are psycopg's Int8).
                params[position] = type(params[position])(scalars[name][nth])
        compiler = copy.copy(compiled.compiler)
        compiler.as_sql = lambda *args, **kwargs: (compiled.sql, tuple(params))
        compiler.get_converters = lambda expressions: compiled.converters
        queryset = compiled.queryset._chain()
        queryset.query.get_compiler = lambda *args, **kwargs: compiler
        with statements_prepared(queryset.db):
            return list(queryset)

    def bind(self, **values) -> "BoundRead":
        """The read for these values, as a paginator pages it (slices and a count)."""
        return BoundRead(self, values)

    def _scalars(self, name: str, value) -> list:
        kind = self.parameters[name]
        if kind in self.LISTS:
            item = str if kind == list[str] else int
            return list(dict.fromkeys(item(each) for each in value))  # as `__in` sends them
        return [kind(value)]

    def _compiled(self, window: tuple[int, int] | None, lengths: dict[str, int]) -> _CompiledRead:
        cache = self._local.__dict__.setdefault("compiled", {})
        shape = (window, *lengths.values())
        if shape not in cache:
            if len(cache) >= self.MAX_SHAPES:
                cache.clear()
            cache[shape] = self._compile(window, lengths)
        return cache[shape]

    def _compile(self, window: tuple[int, int] | None, lengths: dict[str, int]) -> _CompiledRead:
        # Values no query names by chance, within every integer column's range (Django drops a
        # comparison with an out-of-range value from the SQL instead of sending it).
        placeholders = {}
        for index, name in enumerate(self.parameters):
            if self.parameters[name] in (str, list[str]):
                placeholders[name] = [f"\x1fhms:{index}:{nth}\x1f" for nth in range(lengths[name])]
            else:
                base = 2_140_000_000 + index * 100_000
                placeholders[name] = [base + nth for nth in range(lengths[name])]
        queryset = self.build(
            **{
                name: values if self.parameters[name] in self.LISTS else values[0]
                for name, values in placeholders.items()
            }
        )
        if window is not None:
            queryset = queryset[window[0] : window[1]]
        compiler = queryset.query.get_compiler(using=queryset.db)
        sql, params = compiler.as_sql()
        slots = {
            (name, nth): [
                position
                for position, param in enumerate(params)
                if isinstance(param, type(placeholder)) and param == placeholder
            ]
            for name, values in placeholders.items()
            for nth, placeholder in enumerate(values)
        }
        rewritten = sorted({name for (name, _), positions in slots.items() if not positions})
        if rewritten:
            raise ImproperlyConfigured(
                f"PreparedRead: the SQL does not take {rewritten} as given (a lookup rewrote it)"
            )
        converters = compiler.get_converters(
            [column[0] for column in compiler.select[: compiler.col_count]]
        )
        return _CompiledRead(queryset, compiler, converters, sql, tuple(params), slots)


def statements_prepared(alias: str):
    """Statements run inside are prepared on the server where the backend can (hms.postgresql)."""
    return getattr(connections[alias], "statements_prepared", contextlib.nullcontext)()


def values_in_binary(connection):
    """Statements run inside send their values in binary, and are prepared, where the backend can
    (hms.postgresql): for the writes here, whose values are one array per column."""
    return getattr(connection, "values_in_binary", contextlib.nullcontext)()


def attach_prefetched(instance, relation: str, rows: list) -> None:
    """Gives `instance` the rows of a one-to-many `relation` as prefetch_related would, so that
    `instance.<relation>.all()` answers from them without a query (Django's prefetch_one_level
    keeps them in the same place)."""
    related = instance._meta.get_field(relation).related_model
    queryset = QuerySet(model=related, using=instance._state.db)
    queryset._result_cache = rows
    queryset._prefetch_done = True
    instance.__dict__.setdefault("_prefetched_objects_cache", {})[relation] = queryset


class JSONArrayAgg(Aggregate):
    """A group's values as one JSON array (PostgreSQL's jsonb_agg, SQLite's json_group_array), so
    that a row can carry its related rows without a second query. In no set order: sort what it
    returns. Decimals are best cast to text first, so that they never pass through a JSON float."""

    function = "JSONB_AGG"
    output_field = JSONField()

    def as_sqlite(self, compiler, connection, **extra_context):
        return super().as_sql(compiler, connection, function="JSON_GROUP_ARRAY", **extra_context)


@dataclass(frozen=True)
class BoundRead:
    """A prepared read with its values bound, which Django's Paginator can page: each page is
    read through the compiled SQL, and `count()` (asked only of a full page) through the ORM."""

    read: PreparedRead
    values: dict
    ordered = True  # the read's queryset is ordered (Paginator warns of an unordered one)

    def __getitem__(self, window: slice) -> list:
        return self.read(window=(window.start or 0, window.stop), **self.values)

    def count(self) -> int:
        return self.read.build(**self.values).count()
