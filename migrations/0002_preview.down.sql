DROP TABLE IF EXISTS message_previews;
