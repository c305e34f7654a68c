# Databricks notebook source
# MAGIC %md
# MAGIC # Using MLflow to Track Experiments
# MAGIC
# MAGIC ## Running an Experiment
# MAGIC In this exercise, you will use the NYC taxi dataset to train a model that predicts the total fare of a
# MAGIC taxi ride from a subset of the NYC Taxi & Limousine Commission green taxi trip records. You will train
# MAGIC variants of one linear regression model, changing its **hyperparameters** to try to achieve better
# MAGIC performance.
# MAGIC
# MAGIC You will also use MLflow to log the parameters, metrics, model and a plot of each attempt. Keeping track
# MAGIC of results by hand in a spreadsheet is possible but inefficient and easy to get wrong; it is better to
# MAGIC record them as close to the training code as possible. With MLflow you create an **experiment**: a
# MAGIC collection of **runs**, each run one attempt at training. Here every run tries a different set of
# MAGIC hyperparameters for the same algorithm and data, so you can compare which fares best. Experiments can
# MAGIC hold other kinds of comparison too, such as one algorithm per run, or one subset of the data per run.

# COMMAND ----------

# MAGIC %md
# MAGIC ### Choose your compute
# MAGIC Attach this notebook to **serverless** compute (environment version 4 or later; Databricks Free Edition
# MAGIC has only serverless), or to a cluster running a **Databricks Runtime for Machine Learning** (an LTS ML
# MAGIC runtime: 15.4, 16.4, 17.3 or 18). Each comes with MLflow, scikit-learn, pandas and matplotlib installed.
# MAGIC
# MAGIC The next cell runs the lab's setup notebook, which defines `load_trips()` and a few helpers.

# COMMAND ----------

# DBTITLE 1,Run the lab's setup notebook
# MAGIC %run ./includes/setup

# COMMAND ----------

# DBTITLE 1,Import libraries
import inspect
import os
import tempfile
import uuid
from datetime import datetime, timezone

import matplotlib.pyplot as plt
import mlflow
import mlflow.sklearn
import numpy as np
import pandas as pd
import sklearn
from mlflow.models import infer_signature
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import ElasticNet, LinearRegression
from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import MinMaxScaler, OneHotEncoder, StandardScaler

print(f"Loaded libraries: MLflow {mlflow.__version__}, scikit-learn {sklearn.__version__}, pandas {pd.__version__}")
print(f"Compute: {compute_description()}")

# COMMAND ----------

# MAGIC %md
# MAGIC ### Parameters
# MAGIC The lab has two parameters. Leave them blank to use the defaults; a job (or the local runner's `--param`)
# MAGIC can set them.
# MAGIC - `data_path`: a CSV file of trips. Blank: in a workspace, the `nyc_taxi` table created in the course's
# MAGIC   first lab if there is one; otherwise the lab's CSV file, `data/nyc-taxi.csv` beside the notebooks, or
# MAGIC   else downloaded; either is checked against its checksum. `synthetic:10000` makes up 10,000 trips instead.
# MAGIC - `experiment_name`: the MLflow experiment that receives the runs. Blank:
# MAGIC   `/Users/<you>/dp090-using-mlflow-to-track-experiments` in a workspace,
# MAGIC   `dp090-using-mlflow-to-track-experiments` elsewhere.
# MAGIC
# MAGIC An experiment keeps its runs: run this notebook again and the experiment holds the runs of every
# MAGIC session. So the cell also makes up an id for this session of the notebook, `lab_session`, and every run
# MAGIC it starts is tagged with it; later you will use the tag to pick out this session's runs. Running the cell
# MAGIC again starts a new session.

# COMMAND ----------

# DBTITLE 1,Parameters: data and experiment
dbutils.widgets.text("data_path", "", "Trips CSV (blank: the lab's data)")
dbutils.widgets.text("experiment_name", "", "MLflow experiment (blank: default)")

data_path = dbutils.widgets.get("data_path")
experiment_name = dbutils.widgets.get("experiment_name") or default_experiment_name()

# Every run this notebook starts goes to this experiment; it is created if it does not exist yet.
experiment = mlflow.set_experiment(experiment_name)
print(f"MLflow experiment: {experiment.name} (id {experiment.experiment_id})")

# The time this session started, and a few random characters in case two sessions start in the same second.
lab_session = f"{datetime.now(timezone.utc):%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:6]}"
print(f"Lab session: {lab_session}")

# COMMAND ----------

# MAGIC %md
# MAGIC ## Load the training data
# MAGIC
# MAGIC The data is a subset of the NYC Taxi & Limousine Commission green taxi trip records from
# MAGIC [Azure Open Datasets](https://azure.microsoft.com/services/open-datasets/), enriched with holiday and
# MAGIC weather data. Each row is one taxi ride: number of passengers, trip distance, hour, day and month,
# MAGIC holiday and weather information, and the total amount paid for the trip, which the model will predict.
# MAGIC
# MAGIC Run the following cell to load the data into a pandas DataFrame and review it. It prints where the data
# MAGIC came from; if that says **SYNTHETIC**, `data_path` asked for made-up trips with the same columns, so the
# MAGIC numbers you see later will differ from a run on the real data.

# COMMAND ----------

# DBTITLE 1,Load the data
trips, trips_source = load_trips(data_path)
print(f"Loaded {len(trips):,} trips from {trips_source}")
display(trips)

# COMMAND ----------

# MAGIC %md
# MAGIC ### Featurize the data
# MAGIC
# MAGIC The following cell prepares the data as the course's earlier lab did:
# MAGIC - `hour_of_day` becomes two cyclical features, its sine and cosine, so that 23:00 and 00:00 are close;
# MAGIC - rows without a `totalAmount` (the label) are dropped, and `isPaidTimeOff` becomes an integer;
# MAGIC - a missing `passengerCount` is replaced by the median, and the numerical columns are scaled to [0, 1];
# MAGIC - the categorical columns are one-hot encoded.
# MAGIC
# MAGIC The imputation, scaling and encoding are scikit-learn steps in a `ColumnTransformer`. They are fitted on
# MAGIC the training data only and become part of the model, so the logged model takes the columns below as
# MAGIC they are. Finally the data is split into 70% for training and 30% for testing, with a fixed seed so
# MAGIC that every run sees the same split.

# COMMAND ----------

# DBTITLE 1,Featurize and split
features = trips.dropna(subset=["totalAmount"]).copy()

features["hour_sine"] = np.sin(features["hour_of_day"] * (2.0 * np.pi / 24))
features["hour_cosine"] = np.cos(features["hour_of_day"] * (2.0 * np.pi / 24))
features = features.drop(columns=["hour_of_day"])

features["isPaidTimeOff"] = features["isPaidTimeOff"].astype(int)
# A trip on no holiday has no holiday name; call that category "None", as the course's table does.
features["normalizeHolidayName"] = features["normalizeHolidayName"].fillna("None")

numerical_cols = ["passengerCount", "tripDistance", "snowDepth", "precipTime", "precipDepth", "temperature",
                  "hour_sine", "hour_cosine"]  # fmt: skip
categorical_cols = ["day_of_week", "month_num", "normalizeHolidayName", "isPaidTimeOff"]
label_column = "totalAmount"
feature_columns = numerical_cols + categorical_cols

# Whole numbers become floats: MLflow records the model's input columns and types (its signature), and a
# column of integers could not take a missing value at prediction time.
number_cols = [column for column in feature_columns if column != "normalizeHolidayName"]
features[number_cols] = features[number_cols].astype(float)

featurizer = ColumnTransformer([
    ("numerical", Pipeline([("impute", SimpleImputer(strategy="median")), ("scale", MinMaxScaler())]),
     numerical_cols),
    ("categorical", OneHotEncoder(handle_unknown="ignore", sparse_output=False), categorical_cols),
])  # fmt: skip

train_df, test_df = train_test_split(features, test_size=0.3, random_state=97)
print(f"Created datasets: {len(train_df):,} training rows, {len(test_df):,} test rows")

# COMMAND ----------

# MAGIC %md
# MAGIC ### Plot regression quality
# MAGIC
# MAGIC This function gives a visual overview of a model's performance: each test trip is a red dot at its
# MAGIC actual fare (x) and predicted fare (y), on logarithmic axes; a perfect model would put every dot on the
# MAGIC blue diagonal. It saves the plot as a PNG file, which the training function logs to MLflow.

# COMMAND ----------

# DBTITLE 1,Plot function
def plot_regression_quality(actual, predicted, png_path):
    figure, axes = plt.subplots(figsize=(8, 8))
    axes.scatter(actual, predicted, c="crimson", s=6, alpha=0.5)
    axes.set_xscale("log")
    axes.set_yscale("log")

    # Log axes show positive values only; the diagonal spans the positive range of both.
    values = np.concatenate([np.asarray(actual), np.asarray(predicted)])
    low, high = values[values > 0].min(), values.max()
    axes.plot([low, high], [low, high], "b-")
    axes.set_xlabel("True values", fontsize=15)
    axes.set_ylabel("Predictions", fontsize=15)

    figure.savefig(png_path)
    plt.close(figure)
    return figure


print("Created regression quality plot function")

# COMMAND ----------

# MAGIC %md
# MAGIC ### Create an MLflow run
# MAGIC
# MAGIC The next function trains a linear regression model on `train_df` and evaluates it on `test_df`.
# MAGIC
# MAGIC You will call it several times. Each call sets three hyperparameters, named as in Spark ML's
# MAGIC `LinearRegression`, which the original version of this lab used:
# MAGIC - `elastic_net_param`, the ElasticNet mixing parameter: 0 is a pure L2 penalty (ridge), 1 a pure L1
# MAGIC   penalty (lasso);
# MAGIC - `reg_param`, the strength of that penalty (regularization);
# MAGIC - `max_iter`, the maximum number of iterations the solver may take.
# MAGIC
# MAGIC The function maps them to scikit-learn. With `reg_param = 0` there is no penalty: Spark then solves
# MAGIC ordinary least squares in closed form, whatever `max_iter` says (provided no feature is a combination of
# MAGIC others, which is why Spark's one-hot encoder drops one category of each column), and so does
# MAGIC scikit-learn's `LinearRegression`. Otherwise the model is an
# MAGIC `ElasticNet(l1_ratio=elastic_net_param, alpha=reg_param, max_iter=max_iter)`. Spark standardizes every
# MAGIC feature before it applies the penalty; the `StandardScaler` step does the same, so that the penalty
# MAGIC weighs all features alike.
# MAGIC
# MAGIC This port is approximate. Spark also divides the label by its standard deviation, `std(label)`, while it
# MAGIC fits. That leaves the L1 part of the penalty about as scikit-learn has it, but makes the L2 part weaker:
# MAGIC roughly, Spark's L2 part is scikit-learn's divided by `std(label)`. Run 2 (pure L1) is therefore close to
# MAGIC Spark's, while in run 3 the L2 half of the penalty is about `std(label)` times stronger here than in
# MAGIC Spark. The notebook keeps the direct mapping, so that the parameters MLflow logs are exactly the values
# MAGIC scikit-learn used; after run 3, a cell shows how much the difference matters.
# MAGIC
# MAGIC Inside one MLflow run the function records:
# MAGIC * the tag `lab_session`, given to `mlflow.start_run`, which marks the run as one of this session's;
# MAGIC * the parameters, with `mlflow.log_params`;
# MAGIC * the metrics RMSE, MAE and R², with `mlflow.log_metrics`;
# MAGIC * the model, with `mlflow.sklearn.log_model`;
# MAGIC * an arbitrary file, the plot of predicted versus actual amounts, with `mlflow.log_artifact`.
# MAGIC
# MAGIC **Tip:** Use `with mlflow.start_run():` to create a new MLflow run. This is the recommended way to use
# MAGIC MLflow in notebook cells: whether your code completes or fails, the `with` block closes the run, so you
# MAGIC don't have to call `mlflow.end_run()`.
# MAGIC
# MAGIC Two details depend on the MLflow version of your runtime, and the code handles both in plain sight:
# MAGIC - MLflow 3 (ML runtime 17.3 LTS and later) names a logged model with `name=`; MLflow 2 (15.4 and 16.4 LTS)
# MAGIC   calls the same argument `artifact_path=`. Either way `runs:/<run_id>/model` names the model later: MLflow 3
# MAGIC   keeps it as a logged model linked to the run, MLflow 2 in the run's artifacts.
# MAGIC - Recent MLflow releases save a scikit-learn model outside Databricks in the safe *skops* format, which
# MAGIC   loads only the types it is told to trust. The pipeline's imputer holds a `numpy.dtype`, so the code
# MAGIC   names that type as trusted where MLflow has the `skops_trusted_types` argument. Older releases pickle
# MAGIC   the model and have no such argument.
# MAGIC
# MAGIC Passing the model's `pip_requirements` (the packages it needs, at the versions that trained it) saves
# MAGIC MLflow a few seconds per run that it would otherwise spend working them out.

# COMMAND ----------

# DBTITLE 1,Training function
MLFLOW_MAJOR_VERSION = int(mlflow.__version__.split(".")[0])
model_location = {"name": "model"} if MLFLOW_MAJOR_VERSION >= 3 else {"artifact_path": "model"}

if "skops_trusted_types" in inspect.signature(mlflow.sklearn.log_model).parameters:
    model_format = {"skops_trusted_types": ["numpy.dtype"]}
else:
    model_format = {}

model_requirements = pinned_requirements(["mlflow", "scikit-learn", "pandas", "numpy", "cloudpickle", "skops"])


def eval_metrics(actual, predicted):
    rmse = float(np.sqrt(mean_squared_error(actual, predicted)))
    mae = float(mean_absolute_error(actual, predicted))
    r2 = float(r2_score(actual, predicted))
    return rmse, mae, r2


def train_nyc_taxi(train_df, test_df, label_column, elastic_net_param, reg_param, max_iter):
    check_hyperparameters(elastic_net_param, reg_param, max_iter)  # before a run is started for them
    if reg_param == 0:
        regression = LinearRegression()
    else:
        regression = ElasticNet(l1_ratio=elastic_net_param, alpha=reg_param, max_iter=max_iter)
    model = Pipeline([("featurize", sklearn.clone(featurizer)), ("standardize", StandardScaler()),
                      ("regression", regression)])  # fmt: skip

    # Start an MLflow run tagged with this session; the "with" keyword ensures we'll close the run even if
    # this cell crashes
    with mlflow.start_run(tags={"lab_session": lab_session}) as run:
        model.fit(train_df[feature_columns], train_df[label_column])
        predictions = model.predict(test_df[feature_columns])
        (rmse, mae, r2) = eval_metrics(test_df[label_column], predictions)

        # Print out model metrics
        print(f"Linear regression model (elastic_net_param={elastic_net_param}, reg_param={reg_param}, "
              f"max_iter={max_iter}):")  # fmt: skip
        if reg_param == 0:
            print("  solved in closed form (ordinary least squares); max_iter does not apply")
        else:
            print(f"  the solver took {regression.n_iter_} of at most {max_iter} iterations")
        print(f"  RMSE: {rmse:.4f}")
        print(f"  MAE:  {mae:.4f}")
        print(f"  R2:   {r2:.4f}")

        # Log hyperparameters and evaluation metrics for the MLflow UI
        mlflow.log_params({"elastic_net_param": elastic_net_param, "reg_param": reg_param, "max_iter": max_iter})
        mlflow.log_metrics({"rmse": rmse, "mae": mae, "r2": r2})

        # Log the model itself, with the input columns and output it expects (its signature)
        signature = infer_signature(test_df[feature_columns], predictions)
        mlflow.sklearn.log_model(model, **model_location, **model_format, signature=signature,
                                 pip_requirements=model_requirements)

        # Generate a plot and log it (an artifact: any file you want to keep with the run)
        png_path = os.path.join(tempfile.mkdtemp(), "LinearRegressionPrediction.png")
        figure = plot_regression_quality(test_df[label_column], predictions, png_path)
        mlflow.log_artifact(png_path)

    return {"run_id": run.info.run_id, "rmse": rmse, "mae": mae, "r2": r2,
            "predictions": predictions, "figure": figure}  # fmt: skip


print("Created training and evaluation function")

# COMMAND ----------

# MAGIC %md
# MAGIC ## Experiment with different parameters
# MAGIC
# MAGIC Call `train_nyc_taxi` with different parameters. Later, you'll review each of these runs in the MLflow
# MAGIC experiment. The first run uses no penalty at all (`reg_param = 0`), so it is ordinary least squares, and
# MAGIC `max_iter = 1` does not limit it.

# COMMAND ----------

# DBTITLE 1,Run 1: least squares
# No penalty (regularization parameter 0.0): least squares in closed form, so max_iter = 1 does not apply
run_1 = train_nyc_taxi(train_df, test_df, label_column, 0.0, 0.0, 1)

# COMMAND ----------

# MAGIC %md
# MAGIC R² is the share of the variance of the total amount in the test data that the model explains (1 would
# MAGIC be perfect). The root mean square error (RMSE) and the mean absolute error (MAE) estimate how far off
# MAGIC the predictions are, in dollars; RMSE penalizes distant values more than MAE does. For our purposes,
# MAGIC RMSE and R² are the measures of quality. The next cell puts this run's numbers into words.

# COMMAND ----------

print(f"The model explains {run_1['r2']:.0%} of the variance of totalAmount in the test data.")
print(f"Its predictions are off by ${run_1['mae']:.2f} on average (MAE); RMSE is ${run_1['rmse']:.2f}.")

# COMMAND ----------

# MAGIC %md
# MAGIC The plot shows each test trip (in red) against the line of perfect predictions (in blue). The closer
# MAGIC the dots lie to the line, the better the model; dots far from it are trips the model got badly wrong.

# COMMAND ----------

display(run_1["figure"])

# COMMAND ----------

# MAGIC %md
# MAGIC Trying the model with a different set of hyperparameters is as easy as changing the inputs to the
# MAGIC function. This run uses a pure L1 penalty (`elastic_net_param = 1.0`) of strength 0.3 and allows the
# MAGIC solver 50 iterations.
# MAGIC
# MAGIC If the solver has not converged within `max_iter` iterations, scikit-learn says so with a
# MAGIC `ConvergenceWarning` under the cell. It is a warning, not an error: the model is trained and logged,
# MAGIC it is just not yet the best fit for these hyperparameters. The function prints how many iterations
# MAGIC the solver took either way.

# COMMAND ----------

# DBTITLE 1,Run 2: L1 penalty
# L1 penalty, regularization parameter 0.3, at most 50 iterations
run_2 = train_nyc_taxi(train_df, test_df, label_column, 1.0, 0.3, 50)

# COMMAND ----------

# MAGIC %md
# MAGIC How does it compare with the first run? Lower RMSE and MAE, and higher R², are better. The next cell
# MAGIC compares the two runs' metrics.

# COMMAND ----------

def compare_runs(new, old, new_name, old_name):
    for metric, better in [("rmse", "lower"), ("mae", "lower"), ("r2", "higher")]:
        change = new[metric] - old[metric]
        if change == 0:
            verdict = "the same"
        elif (change < 0) == (better == "lower"):
            verdict = "better"
        else:
            verdict = "worse"
        print(f"{metric.upper():>4}: {old_name} {old[metric]:.4f}, {new_name} {new[metric]:.4f} "
              f"({change:+.4f}: {new_name} is {verdict})")  # fmt: skip


compare_runs(run_2, run_1, "run 2", "run 1")

# COMMAND ----------

display(run_2["figure"])

# COMMAND ----------

# MAGIC %md
# MAGIC Look at the bottom-left corner of the plots, where the inexpensive rides are. If most red dots there
# MAGIC lie above the blue line, the model predicts too much for cheap rides: its predictions skew high. The
# MAGIC next cell counts, for the cheapest quarter of the test rides, how often each model predicted more than
# MAGIC the actual fare.

# COMMAND ----------

def share_predicted_high_on_cheap_rides(result):
    actual = test_df[label_column].to_numpy()
    cheap = actual <= np.quantile(actual, 0.25)
    return float(np.mean(result["predictions"][cheap] > actual[cheap]))


for name, result in [("run 1", run_1), ("run 2", run_2)]:
    print(f"{name}: predicted more than the actual fare for {share_predicted_high_on_cheap_rides(result):.0%} "
          "of the cheapest quarter of rides")  # fmt: skip

# COMMAND ----------

# MAGIC %md
# MAGIC The third run mixes L1 and L2 penalties half and half (`elastic_net_param = 0.5`), with a stronger
# MAGIC penalty of 0.9 and up to 1000 iterations.

# COMMAND ----------

# DBTITLE 1,Run 3: mixed L1 and L2
# 50/50 mixed L1 and L2, regularization parameter 0.9, at most 1000 iterations
run_3 = train_nyc_taxi(train_df, test_df, label_column, 0.5, 0.9, 1000)

# COMMAND ----------

compare_runs(run_3, run_1, "run 3", "run 1")
compare_runs(run_3, run_2, "run 3", "run 2")
print(f"run 3: predicted more than the actual fare for {share_predicted_high_on_cheap_rides(run_3):.0%} "
      "of the cheapest quarter of rides")  # fmt: skip

# COMMAND ----------

display(run_3["figure"])

# COMMAND ----------

# MAGIC %md
# MAGIC ### How close is this to Spark?
# MAGIC
# MAGIC Run 3 is the run where the port to scikit-learn matters (see *Create an MLflow run* above): half of its
# MAGIC penalty is L2, and scikit-learn applies that half at full strength, where Spark's is roughly divided by
# MAGIC the standard deviation of the label. The next cell fits run 3's model once more with the penalty scaled
# MAGIC as Spark scales it (`spark_like_penalty` in the setup notebook works out scikit-learn's `alpha` and
# MAGIC `l1_ratio`), and prints its R² next to run 3's. It does not start an MLflow run, so the session still
# MAGIC has three runs. Spark's own figures for the three runs come from the lab's Spark ML notebook, which
# MAGIC trains them with Spark's `LinearRegression`.

# COMMAND ----------

# DBTITLE 1,Run 3 with Spark's penalty scaling
label_std = float(train_df[label_column].std())
alpha, l1_ratio = spark_like_penalty(elastic_net_param=0.5, reg_param=0.9, label_std=label_std)
spark_like_model = Pipeline([("featurize", sklearn.clone(featurizer)), ("standardize", StandardScaler()),
                             ("regression", ElasticNet(l1_ratio=l1_ratio, alpha=alpha, max_iter=1000))])  # fmt: skip
spark_like_model.fit(train_df[feature_columns], train_df[label_column])
spark_like_r2 = r2_score(test_df[label_column], spark_like_model.predict(test_df[feature_columns]))

print(f"Standard deviation of {label_column} in the training data: {label_std:.2f}")
print(f"Run 3 as logged:             ElasticNet(l1_ratio=0.5, alpha=0.9), R2 {run_3['r2']:.4f}")
print(f"Run 3 with Spark's scaling:  ElasticNet(l1_ratio={l1_ratio:.3f}, alpha={alpha:.3f}), R2 {spark_like_r2:.4f}")

# COMMAND ----------

# MAGIC %md
# MAGIC This information is now stored in the MLflow tracking server. Next, you will work with it in two ways:
# MAGIC by reviewing the experiment in the user interface, and by using MLflow from code.
# MAGIC
# MAGIC ## Reviewing experiment metrics
# MAGIC
# MAGIC ### View the experiment, runs, and run details in the Databricks UI
# MAGIC
# MAGIC 1. Select the **Experiment** icon (a flask) in the notebook's right-hand side panel. The panel lists the
# MAGIC    runs of the experiment this notebook logged to, with their parameters and metrics: this session's
# MAGIC    three, and the runs of any earlier session. Compare this session's three runs, the three most
# MAGIC    recent: which has the lowest RMSE?
# MAGIC 1. Select a run's name to open its **run details page**. It shows the parameters and metrics, the tags
# MAGIC    (among them `lab_session`; you can set tags with `mlflow.set_tags()`, or add them in the UI
# MAGIC    afterwards) and the **artifacts**, among them `LinearRegressionPrediction.png`. Select the PNG to see
# MAGIC    the plot; it stays with the run even after you clear this notebook's results. The model is there
# MAGIC    too: with MLflow 3 under **Logged models** on the run's overview, with MLflow 2 as the `model` folder
# MAGIC    of the artifacts.
# MAGIC 1. In the experiment page (open it from the side panel), select this session's three runs and choose
# MAGIC    **Compare** to see their parameters and metrics side by side. To list only them, search for
# MAGIC    `tags.lab_session = '<id>'` with the id printed by the *Parameters* cell.
# MAGIC
# MAGIC #### Reproducing a run
# MAGIC Reproducibility builds confidence that a model in production really is the model you expect. On a run's
# MAGIC details page, **Reproduce run** (where your workspace offers it) clones the notebook at the version that
# MAGIC made the run and recreates its cluster settings, so you can run it again.
# MAGIC
# MAGIC **Running locally?** The same views are in the MLflow UI of the local tracking server: run
# MAGIC `python scripts/run_lab.py --keep-server` and open the experiment URL it prints (the lab guide,
# MAGIC `docs/lab-guide.md`, shows where to click). The next cell prints the experiment's URL when the tracking
# MAGIC server is reached over HTTP, as the local one is.

# COMMAND ----------

tracking_uri = mlflow.get_tracking_uri()
if tracking_uri.startswith("http"):
    print(f"Experiment page: {tracking_uri}/#/experiments/{experiment.experiment_id}")
else:
    print(f"Tracking server: {tracking_uri}; open the experiment from the notebook's Experiment side panel")

# COMMAND ----------

# MAGIC %md
# MAGIC ### View the experiment, runs, and run details programmatically
# MAGIC
# MAGIC You can also get experiment details from code, with an `MlflowClient`.

# COMMAND ----------

from mlflow.tracking import MlflowClient

client = MlflowClient()

print("Loaded MLflow Client")

# COMMAND ----------

# MAGIC %md
# MAGIC Next, list the experiments you can see, ordered by their `last_update_time`, latest first (at most ten
# MAGIC here). Despite its name, that time does not change when runs are logged: MLflow's tracking server sets
# MAGIC it when an experiment is created and changes it only when the experiment is renamed, deleted or
# MAGIC restored. So the order is not the order in which you last used the experiments.

# COMMAND ----------

# DBTITLE 1,List experiments
experiments = client.search_experiments(order_by=["last_update_time DESC"], max_results=10)
for listed in experiments:
    last_update = datetime.fromtimestamp(listed.last_update_time / 1000, timezone.utc)
    print(f"{listed.experiment_id:>20}  last update {last_update:%Y-%m-%d %H:%M:%S} UTC  {listed.name}")

# COMMAND ----------

# MAGIC %md
# MAGIC Pick this lab's experiment by its name rather than by its position in the list: positions change as
# MAGIC experiments are created, renamed and deleted. `search_experiments` takes a filter, just as `search_runs`
# MAGIC does. Then `mlflow.search_runs` returns the experiment's runs as a pandas DataFrame, one row a run, newest
# MAGIC first, with the logged metrics (`metrics.*`), parameters (`params.*`) and tags (`tags.*`). It returns
# MAGIC every run of the experiment: this session's, and those of every earlier session.

# COMMAND ----------

# DBTITLE 1,Runs of this lab's experiment
# The name as the tracking server stored it (a workspace drops a /Workspace prefix), quoted with the kind of
# quote it does not contain: a ' inside '...' would end the filter's string early.
stored_name = experiment.name
quote = '"' if "'" in stored_name else "'"
[lab_experiment] = client.search_experiments(filter_string=f"name = {quote}{stored_name}{quote}")
experiment_id = lab_experiment.experiment_id
runs_df = mlflow.search_runs([experiment_id])

print(f"Experiment {experiment_name} holds {len(runs_df)} runs")
display(runs_df)

# COMMAND ----------

# MAGIC %md
# MAGIC Each row holds a run's id, status and times, its parameters, the last value of each metric, and its
# MAGIC tags; the model and the plot stay in the tracking server, where the run id finds them. A table like this
# MAGIC makes it easy to analyse an experiment further, for example to pick out this session's runs:
# MAGIC `filter_string` keeps the runs whose `lab_session` tag is this session's (the experiment page's search
# MAGIC box takes the same syntax).

# COMMAND ----------

# DBTITLE 1,This session's runs
session_runs_df = mlflow.search_runs([experiment_id], filter_string=f"tags.lab_session = '{lab_session}'",
                                     order_by=["attributes.start_time ASC"])  # fmt: skip

print(f"Session {lab_session} logged {len(session_runs_df)} of the experiment's {len(runs_df)} runs")
display(session_runs_df[["run_id", "tags.mlflow.runName", "params.elastic_net_param", "params.reg_param",
                         "params.max_iter", "metrics.rmse", "metrics.mae", "metrics.r2"]])  # fmt: skip

# COMMAND ----------

# MAGIC %md
# MAGIC Next, retrieve the last run in this experiment, ordered by start time: when you have run this notebook
# MAGIC from top to bottom, it is this session's third run. `data.metrics` holds its metrics, one key-value pair
# MAGIC each.

# COMMAND ----------

# DBTITLE 1,Latest run's metrics
runs = client.search_runs([experiment_id], order_by=["attributes.start_time DESC"], max_results=1)
last_run = runs[0]
print(f"Latest run: {last_run.info.run_name} (run id {last_run.info.run_id})")
last_run.data.metrics

# COMMAND ----------

# MAGIC %md
# MAGIC You can also load the model a run logged and use it. `runs:/<run_id>/model` names the model that the run
# MAGIC logged as `model`; `info.run_id` is the run's unique id. The model includes the featurization, so it
# MAGIC takes the columns of `test_df` as they are. Load the latest run's model and predict the fares of the
# MAGIC first three test trips:

# COMMAND ----------

# DBTITLE 1,Load the model and predict
loaded_model = mlflow.sklearn.load_model(f"runs:/{last_run.info.run_id}/model")
top_rows = test_df.head(3)
display(top_rows.assign(prediction=loaded_model.predict(top_rows[feature_columns])))

# COMMAND ----------

# MAGIC %md
# MAGIC The latest run is the one you trained last, not necessarily the one that predicts best. To find the best,
# MAGIC ask for this session's runs ordered by RMSE, lowest first, and take the first one:

# COMMAND ----------

# DBTITLE 1,Best run of this session
best_run = client.search_runs([experiment_id], filter_string=f"tags.lab_session = '{lab_session}'",
                              order_by=["metrics.rmse ASC"], max_results=1)[0]  # fmt: skip

print(f"Best run of this session: {best_run.info.run_name} (run id {best_run.info.run_id})")
print(f"  parameters: {best_run.data.params}")
print(f"  RMSE {best_run.data.metrics['rmse']:.4f}; the latest run, {last_run.info.run_name}, "
      f"has RMSE {last_run.data.metrics['rmse']:.4f}")  # fmt: skip

# COMMAND ----------

# MAGIC %md
# MAGIC Load the best run's model the same way, and predict the fares of the same three trips:

# COMMAND ----------

# DBTITLE 1,Load the best model and predict
best_model_uri = f"runs:/{best_run.info.run_id}/model"
best_model = mlflow.sklearn.load_model(best_model_uri)
print(f"Loaded {best_model_uri}")
display(top_rows.assign(prediction=best_model.predict(top_rows[feature_columns])))

# COMMAND ----------

# MAGIC %md
# MAGIC ## Clean-up
# MAGIC
# MAGIC The runs stay in the experiment for the next exercises. When you are done with the course, delete the
# MAGIC experiment from the **Experiments** page, and terminate your cluster on the **Compute** page if you
# MAGIC started one for this lab.

# COMMAND ----------

# DBTITLE 1,Return a summary to the job
# When a job runs this notebook (deploy.py run --runtime, the bundle's lab_matrix job), this summary is the
# task's output: the library versions of this runtime and the three runs above with their metrics.
dbutils.notebook.exit(lab_summary([run_1["run_id"], run_2["run_id"], run_3["run_id"]]))
