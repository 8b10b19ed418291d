"""Personal data kept out of what is stored and logged: :mod:`privacy.redaction` finds and
masks e-mail addresses, phone numbers, card and bank numbers, IP addresses in a text;
:mod:`privacy.log_redaction` applies it to every log record and to the standard streams.

Plain Python on the ground floor: the Rasa server, the action server, training and the
conversation log all use it, and it imports nothing of theirs.
"""
