"""Printed letters (README, "Messaging > Letters"): the address block (`address`), the letters'
and the printed catalogue's HTML and PDF (`render`), their private files (`storage`), the batches'
services and selectors (`services`, `selectors`) and the import of resellers (`imports`)."""
