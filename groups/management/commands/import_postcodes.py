"""Import postcodes and their coordinates from an ONS Postcode Directory (ONSPD) style CSV."""

from __future__ import annotations

from functools import partial

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from groups.importers import ImportFileError, postcodes_import


class Command(BaseCommand):
    help = (
        "Create or update postcodes from an ONSPD-style CSV, streamed in batches. Terminated postcodes "
        "(doterm set) and rows without coordinates (ONSPD's lat 99.999999) are skipped and counted. "
        "Afterwards, residents not yet on the map whose postcode is now known are placed."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="CSV file, e.g. ONSPD_MAY_2025_UK.csv")
        parser.add_argument("--postcode-column", default="pcds", help="Default: pcds (any spacing or case is fine).")
        parser.add_argument("--latitude-column", default="lat", help="Default: lat.")
        parser.add_argument("--longitude-column", default="long", help="Default: long.")
        parser.add_argument(
            "--terminated-column",
            default="doterm",
            help="Default: doterm. Rows with a value here are skipped; ignored if the file has no such column.",
        )
        parser.add_argument("--batch-size", type=int, default=5000, help="Rows written per statement (default 5000).")

    def handle(self, *args, **options):
        stream = getattr(self.stderr, "_out", self.stderr)  # tqdm needs the raw stream (it writes \r)
        progress = partial(tqdm, file=stream, disable=options["verbosity"] == 0, mininterval=0.5)
        try:
            result = postcodes_import(
                path=options["file"],
                postcode_column=options["postcode_column"],
                latitude_column=options["latitude_column"],
                longitude_column=options["longitude_column"],
                terminated_column=options["terminated_column"],
                batch_size=options["batch_size"],
                progress=progress,
            )
        except ImportFileError as exc:
            raise CommandError(exc.summary()) from exc
        reasons = ", ".join(f"{n} {reason}" for reason, n in sorted(result.skipped.items())) or "none"
        self.stdout.write(
            f"{result.imported} postcodes imported from {options['file']}; "
            f"{result.skipped_total} rows skipped ({reasons}); "
            f"{result.placed} residents placed on the map."
        )
