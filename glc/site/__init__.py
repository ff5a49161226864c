"""Site output: the static HTML report, the offline docs catalog and General-Bench prediction export."""
