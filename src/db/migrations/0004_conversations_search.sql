-- Full-text search over message text (SQLite FTS5), kept in step with `messages` by triggers.
-- External-content table: the text is stored once, in `messages`; the index refers to its rowid.
CREATE VIRTUAL TABLE `messages_fts` USING fts5(`text`, content='messages', content_rowid='rowid', tokenize='unicode61 remove_diacritics 2');
--> statement-breakpoint
INSERT INTO `messages_fts`(`rowid`, `text`) SELECT `rowid`, `text` FROM `messages`;
--> statement-breakpoint
CREATE TRIGGER `messages_fts_insert` AFTER INSERT ON `messages` BEGIN
  INSERT INTO `messages_fts`(`rowid`, `text`) VALUES (new.`rowid`, new.`text`);
END;
--> statement-breakpoint
CREATE TRIGGER `messages_fts_delete` AFTER DELETE ON `messages` BEGIN
  INSERT INTO `messages_fts`(`messages_fts`, `rowid`, `text`) VALUES ('delete', old.`rowid`, old.`text`);
END;
--> statement-breakpoint
CREATE TRIGGER `messages_fts_update` AFTER UPDATE OF `text` ON `messages` BEGIN
  INSERT INTO `messages_fts`(`messages_fts`, `rowid`, `text`) VALUES ('delete', old.`rowid`, old.`text`);
  INSERT INTO `messages_fts`(`rowid`, `text`) VALUES (new.`rowid`, new.`text`);
END;
