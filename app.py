from ebok import create_app

app = create_app()
