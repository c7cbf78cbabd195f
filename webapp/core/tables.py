"""Sorting and paging of the console's lists, on the server so that both cover every row.

A list page reads `?sort=<column>&dir=asc|desc&page=N&per_page=N` through `table_page`; every
other parameter (the page's filters) is kept in the links it builds, so sorting keeps the filters
and paging keeps both.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from urllib.parse import urlencode

from django.core.paginator import Page, Paginator
from django.db.models import F, QuerySet

PAGE_SIZES = (25, 50, 100)
ASC, DESC = "asc", "desc"


@dataclass(frozen=True)
class Column:
    """One column of a list: its header and what it sorts by (nothing for an actions column)."""

    label: str
    key: str = ""  # the ?sort= value; "" for a column that does not sort
    order: Sequence = ()  # field names or expressions, most significant first
    num: bool = False  # right-aligned
    first: str = ASC  # the direction of a first click: scores, counts and dates read best newest
    hide_label: bool = False  # a header only screen readers need ("Actions")


@dataclass
class Header:
    label: str
    num: bool
    hide_label: bool
    href: str = ""
    aria_sort: str = ""  # "ascending" / "descending" on the column the rows are sorted by


@dataclass
class Table:
    """What a list template needs: the page of rows, its headers and the links of the pager."""

    page: Page
    headers: list[Header]
    sort: str
    dir: str
    per_page: int
    params: dict = field(repr=False)  # the request's query, less what the table owns

    @property
    def rows(self):
        return self.page.object_list

    @property
    def page_sizes(self) -> tuple[int, ...]:
        return PAGE_SIZES

    def _url(self, **changes) -> str:
        query = self.params.copy()
        query.update({"sort": self.sort, "dir": self.dir})
        if self.per_page != PAGE_SIZES[0]:
            query["per_page"] = self.per_page
        query.update(changes)
        return "?" + _encode({k: v for k, v in query.items() if v not in (None, "")})

    @property
    def previous_url(self) -> str:
        return self._url(page=self.page.previous_page_number()) if self.page.has_previous() else ""

    @property
    def next_url(self) -> str:
        return self._url(page=self.page.next_page_number()) if self.page.has_next() else ""

    @property
    def kept(self) -> list[tuple[str, str]]:
        """The sort (and page size) as hidden fields, for the page's filter form."""
        fields = [("sort", self.sort), ("dir", self.dir)]
        if self.per_page != PAGE_SIZES[0]:
            fields.append(("per_page", str(self.per_page)))
        return fields

    @property
    def kept_for_size(self) -> list[tuple[str, str]]:
        """Filters and sort as hidden fields, for the rows-per-page form."""
        return [*_pairs(self.params), ("sort", self.sort), ("dir", self.dir)]

    @property
    def show_sizes(self) -> bool:
        return self.page.paginator.count > PAGE_SIZES[0]


def _pairs(params: dict) -> list[tuple[str, str]]:
    return [(k, str(v)) for k, values in params.items() for v in _listed(values)]


def _listed(value) -> list:
    return value if isinstance(value, list) else [value]


def _encode(params: dict) -> str:
    return urlencode(_pairs(params))


def _ordering(column: Column, direction: str) -> list:
    """Order by the column, rows without a value last either way, then by pk so pages are stable."""
    exprs = [F(o) if isinstance(o, str) else o for o in column.order]
    if direction == DESC:
        return [*(e.desc(nulls_last=True) for e in exprs), F("pk").desc()]
    return [*(e.asc(nulls_last=True) for e in exprs), F("pk").asc()]


def table_page(
    request, rows: QuerySet, columns: Sequence[Column], *, default: str, default_dir: str = ""
) -> Table:
    """Sort `rows` by the requested column (or `default`) and cut out the requested page."""
    sortable = {c.key: c for c in columns if c.key}
    key = request.GET.get("sort", "")
    if key not in sortable:
        key = default
    column = sortable[key]
    direction = request.GET.get("dir", "")
    if direction not in (ASC, DESC):
        direction = default_dir if key == default and default_dir else column.first
    try:
        per_page = int(request.GET.get("per_page", ""))
    except ValueError:
        per_page = PAGE_SIZES[0]
    if per_page not in PAGE_SIZES:
        per_page = PAGE_SIZES[0]
    page = Paginator(rows.order_by(*_ordering(column, direction)), per_page).get_page(
        request.GET.get("page")
    )
    params = {
        k: request.GET.getlist(k)
        for k in request.GET
        if k not in ("sort", "dir", "page", "per_page")
    }
    table = Table(page=page, headers=[], sort=key, dir=direction, per_page=per_page, params=params)
    for c in columns:
        header = Header(label=c.label, num=c.num, hide_label=c.hide_label)
        if c.key:
            sorted_here = c.key == key
            header.aria_sort = ("ascending" if direction == ASC else "descending") * sorted_here
            again = (DESC if direction == ASC else ASC) if sorted_here else c.first
            header.href = table._url(sort=c.key, dir=again, page=None)
        table.headers.append(header)
    return table
