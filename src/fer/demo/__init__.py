"""fer demo: a local web page to try the models on photos, the webcam and videos (the demo extra, Gradio).

handlers.py computes what the page shows without a server; app.py lays out the page; serve.py runs it.
"""
