"""Writers: a read model from `meetings.domain` in, the bytes of a document out.

These modules alone import document libraries (python-docx, icalendar, openpyxl, matplotlib); an
import-linter contract keeps it so. They do no I/O beyond building bytes in memory.
"""
