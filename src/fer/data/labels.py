"""The one class order both pipelines use: FER-2013's own (0 angry ... 6 neutral)."""

EMOTIONS: tuple[str, ...] = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
NUM_CLASSES = len(EMOTIONS)

# The folder form sorts its class folders alphabetically (neutral before sad), so
# folder names map onto FER-2013's numbering by name, never by sorted position.
FOLDER_TO_LABEL: dict[str, int] = {name: index for index, name in enumerate(EMOTIONS)}

USAGES: tuple[str, ...] = ("Training", "PublicTest", "PrivateTest")
IMAGE_SIZE = 48
PIXELS_PER_IMAGE = IMAGE_SIZE * IMAGE_SIZE
