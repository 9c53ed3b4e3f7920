"""The orders export, as a job (core.jobs): one CSV row per order line (the order's columns
repeated), streamed from a server-side cursor. The portfolio rule holds as for members
(`loyalty.exports`): without `loyalty.view_every_member`, only the orders of the author's members."""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext_lazy

from catalog.models import OrderLine
from core.jobs import JobProgress, job_kind
from core.models import Job
from core.replica import read_alias, replica_reads
from loyalty.exports import CURSOR_CHUNK, export_file_name, rows_of_visible_members

ORDER_LINE_COLUMNS = {
    "order_id": "order_id",
    "placed_at": "order__placed_at",
    "status": "order__status",
    "member_external_id": "order__member__external_id",
    "order_total_points": "order__total_points",
    "line_id": "id",
    "gift_reference": "gift_reference",
    "gift_name": "gift_name",
    "kind": "kind",
    "quantity": "quantity",
    "points_each": "points_each",
    "points_total": "points_total",
    "amount": "amount",
    "currency": "currency",
    "ship_name": "order__ship_name",
    "ship_line1": "order__ship_line1",
    "ship_line2": "order__ship_line2",
    "ship_postal_code": "order__ship_postal_code",
    "ship_city": "order__ship_city",
    "ship_country": "order__ship_country",
    "ship_phone": "order__ship_phone",
    "tracking_ref": "order__tracking_ref",
}


@job_kind("catalog.orders_export", permission="catalog.export_orders", label=gettext_lazy("Orders export"))
def orders_export(job: Job, progress: JobProgress) -> None:
    with replica_reads(), transaction.atomic(using=read_alias()):
        lines = rows_of_visible_members(OrderLine.objects.all(), job=job, member="order__member")
        lines = lines.order_by("order_id", "id")
        progress.total(lines.count())
        rows = lines.values_list(*ORDER_LINE_COLUMNS.values()).iterator(chunk_size=CURSOR_CHUNK)
        progress.csv_rows(name=export_file_name("orders"), header=list(ORDER_LINE_COLUMNS), rows=rows)
