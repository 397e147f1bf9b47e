"""What dedup and search write for people and programs: data files, contact sheets, report.html."""
