-- Marks the file as a Docket database: SQLite's application_id (bytes 68-71 of the header) is
-- "DOCK" (0x444F434B), so Docket, file(1) and other tools can tell it from another application's
-- SQLite file without reading its tables. Docket refuses to open any non-empty SQLite file that
-- carries neither this id nor Docket's tables, and never changes such a file.
PRAGMA application_id = 1146045259;
