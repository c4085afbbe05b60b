"""Import ONS boundaries (districts, wards) or custom areas from a GeoJSON FeatureCollection."""

from __future__ import annotations

from functools import partial

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from groups.importers import ImportFileError, boundaries_import
from groups.models import Area


class Command(BaseCommand):
    help = (
        "Create or update areas from an ONS-style GeoJSON FeatureCollection (WGS84 Polygons and "
        "MultiPolygons), matched by code. All or nothing: any bad feature is reported with its position "
        "and code, and nothing changes. Re-running the same file changes nothing. Who lives in each "
        "new or redrawn area is recomputed once the import commits."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="GeoJSON file, e.g. Wards_December_2023_Boundaries_UK_BGC.geojson")
        parser.add_argument("--level", required=True, choices=Area.Level.values, help="The level of every area.")
        parser.add_argument(
            "--code-field",
            help="Property holding the area code. Default: the property ending in CD (e.g. LAD23CD, WD23CD); "
            "when there are several, the one fitting --level (LAD… for districts, WD… for wards), never "
            "--parent-code-field.",
        )
        parser.add_argument(
            "--name-field",
            help="Property holding the area name. Default: the code field's twin ending in NM "
            "(LAD23CD → LAD23NM), else the only property ending in NM.",
        )
        parser.add_argument(
            "--parent-code-field",
            help="Property holding the parent area's code (e.g. LAD23CD in a wards file). The parent must "
            "exist already or come earlier in the same file; a blank value means no parent. Without this "
            "option the areas have no parent (the file is the truth: a re-import clears parents).",
        )

    def handle(self, *args, **options):
        stream = getattr(self.stderr, "_out", self.stderr)  # tqdm needs the raw stream (it writes \r)
        progress = partial(tqdm, file=stream, disable=options["verbosity"] == 0, mininterval=0.5)
        try:
            result = boundaries_import(
                path=options["file"],
                level=options["level"],
                code_field=options["code_field"],
                name_field=options["name_field"],
                parent_code_field=options["parent_code_field"],
                progress=progress,
            )
        except ImportFileError as exc:
            raise CommandError(f"Nothing was imported from {options['file']}. {exc.summary()}") from exc
        self.stdout.write(
            f"{result.total} areas ({options['level']}) from {options['file']}, "
            f"code from {result.code_field}, name from {result.name_field}: "
            f"{result.created} created, {result.updated} updated, {result.unchanged} unchanged."
        )
